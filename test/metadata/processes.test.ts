/**
 * Real processes against the shared etcd: id allocators in several processes never collide, and a
 * standby takes over leadership after the leader process is killed with SIGKILL.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../lib/log/index.ts';
import { Election, type LeaderInfo } from '../../lib/metadata/election.ts';
import { openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import { IdAllocator } from '../../lib/metadata/id-allocator.ts';
import * as keys from '../../lib/metadata/keys.ts';
import { spawnProcess, stopAll, uniquePrefix } from '../harness/index.ts';
import { text, waitFor } from './helpers.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

describe('metadata with real processes', { concurrent: false }, () => {
  afterAll(stopAll);

  it('hands out no id twice across processes and in-process clients', async () => {
    const endpoint = inject('etcdEndpoint');
    const rootPrefix = uniquePrefix('ids');
    const key = keys.ledgerIdCounter('c1');
    const children = [1, 2, 3].map((i) =>
      spawnProcess({
        name: `allocator-${i}`,
        args: [fixture('allocate-ids.ts'), endpoint, rootPrefix, key, '150', String(i * 4)],
      }),
    );
    const outputs = children.map((child) => child.waitForOutput(/^(ids|error) /, 45_000));
    const store = await openEtcdStore({ hosts: [endpoint], rootPrefix, logger: silentLogger() });
    const local = new IdAllocator(store, { key, batchSize: 7 });
    const localIds = await Promise.all(Array.from({ length: 150 }, () => local.next()));
    const childIds: number[] = [];
    for (const [i, child] of children.entries()) {
      const line = await outputs[i];
      expect(line.startsWith('ids '), line).toBe(true);
      childIds.push(...(JSON.parse(line.slice(4)) as number[]));
      expect((await child.exited).code).toBe(0);
    }
    const all = [...localIds, ...childIds];
    expect(all).toHaveLength(600);
    expect(new Set(all).size).toBe(600);
    expect(all.every((id) => Number.isSafeInteger(id) && id >= 1)).toBe(true);
    await store.deletePrefix('/');
    await store.close();
  });

  it('a standby takes over when the leader process is SIGKILLed', async () => {
    const endpoint = inject('etcdEndpoint');
    const rootPrefix = uniquePrefix('el');
    const prefix = keys.electionPrefix('c1', keys.ELECTIONS.coordinator);
    const leaderProc = spawnProcess({
      name: 'leader',
      args: [fixture('campaign.ts'), endpoint, rootPrefix, prefix, '2000', 'proc'],
    });
    await leaderProc.waitForOutput(/^leader /, 30_000);
    const store = await openEtcdStore({ hosts: [endpoint], rootPrefix, logger: silentLogger() });
    const seen: (string | undefined)[] = [];
    const observer = await Election.observe(store, prefix, (l: LeaderInfo | undefined) =>
      seen.push(l && text(l.value)),
    );
    const session = await store.createSession(5000);
    const standby = new Election({ store, prefix, session, value: new TextEncoder().encode('standby') });
    const takeover = standby.campaign();
    await waitFor('standby candidacy', async () => (await store.listAll(prefix)).length === 2);
    expect(standby.isLeader).toBe(false);
    await leaderProc.kill('SIGKILL');
    await takeover; // the dead leader's lease expires after its TTL, then its key goes
    expect(standby.isLeader).toBe(true);
    await waitFor('observer follows', () => seen.at(-1) === 'standby');
    expect(seen).toEqual(['proc', 'standby']);
    await observer.close();
    await standby.resign();
    await session.close();
    await store.deletePrefix('/');
    await store.close();
  });
});
