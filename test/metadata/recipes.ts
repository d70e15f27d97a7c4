/**
 * Id allocation and leader election, run against every store implementation (they use only the
 * MetadataStore interface, so both stores must give them the same guarantees).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Election, type LeaderInfo } from '../../lib/metadata/election.ts';
import { MetadataErrors } from '../../lib/metadata/errors.ts';
import { IdAllocator, MAX_ID } from '../../lib/metadata/id-allocator.ts';
import type { MetadataStore, Session } from '../../lib/metadata/store.ts';
import type { ContractStores, ContractTarget } from './contract.ts';
import { bytes, expectCode, text, waitFor } from './helpers.ts';

/** A store whose CAS puts apply and then report TIMEOUT (outcome unknown) the first `n` times. */
function timeoutAfterApply(store: MetadataStore, n: number): MetadataStore {
  let left = n;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'put') {
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return async (...args: Parameters<MetadataStore['put']>) => {
        const version = await target.put(...args);
        if (left-- > 0) throw MetadataErrors.make('TIMEOUT', { op: 'put', elapsedMs: 0, cause: 'injected' });
        return version;
      };
    },
  });
}

export function recipesContract(target: ContractTarget): void {
  describe(`id allocation and election: ${target.name}`, { concurrent: false }, () => {
    let env: ContractStores;
    let store: MetadataStore;
    let peer: MetadataStore;
    const sessions: Session[] = [];
    beforeEach(async () => {
      env = await target.open();
      store = env.store;
      peer = env.peer;
    });
    afterEach(async () => {
      for (const s of sessions.splice(0)) await s.close().catch(() => undefined);
      await env.close();
    });
    const session = async (s: MetadataStore = store, ttlMs = 5000) => {
      const created = await s.createSession(ttlMs);
      sessions.push(created);
      return created;
    };

    it('allocates unique ids across concurrent allocators and restarts', async () => {
      const key = '/ids/counter';
      const allocators = [
        new IdAllocator(store, { key, batchSize: 3 }),
        new IdAllocator(peer, { key, batchSize: 5 }),
        new IdAllocator(store, { key, batchSize: 1 }),
      ];
      const ids = await Promise.all(Array.from({ length: 90 }, (_, i) => allocators[i % 3].next()));
      expect(new Set(ids).size).toBe(ids.length);
      expect(Math.min(...ids)).toBeGreaterThanOrEqual(1);
      // A "restarted" allocator (new object, nothing in memory) continues past every reservation.
      const restarted = new IdAllocator(peer, { key, batchSize: 4 });
      const after = await restarted.next();
      expect(after).toBeGreaterThan(Math.max(...ids));
      expect(text((await store.get(key))!.value)).toBe(String(after + 4));
    });

    it('never uses a range whose reservation had an unknown outcome', async () => {
      const key = '/ids/flaky';
      const flaky = new IdAllocator(timeoutAfterApply(store, 2), { key, batchSize: 10 });
      const steady = new IdAllocator(peer, { key, batchSize: 10 });
      const a = await flaky.next(); // two reservations applied but reported TIMEOUT: skipped
      const b = await steady.next();
      expect(a).toBe(21);
      expect(b).toBe(31);
    });

    it('stops below 2^53 and refuses a corrupt counter', async () => {
      await store.put('/ids/high', bytes(String(MAX_ID - 1)));
      const high = new IdAllocator(store, { key: '/ids/high', batchSize: 10 });
      expect(await high.next()).toBe(MAX_ID - 1);
      expect(await high.next()).toBe(MAX_ID);
      await expectCode(high.next(), 'ID_SPACE_EXHAUSTED');
      await store.put('/ids/bad', bytes('12abc'));
      await expectCode(new IdAllocator(store, { key: '/ids/bad' }).next(), 'CORRUPT_VALUE');
    });

    it('elects exactly one leader; resign hands over; observers follow', async () => {
      const prefix = '/el/one/';
      const seen: (string | undefined)[] = [];
      const observer = await Election.observe(peer, prefix, (l: LeaderInfo | undefined) =>
        seen.push(l && text(l.value)),
      );
      const elections = await Promise.all(
        ['a', 'b', 'c'].map(async (name, i) => {
          const s = await session(i === 1 ? peer : store);
          return new Election({ store: i === 1 ? peer : store, prefix, session: s, value: bytes(name) });
        }),
      );
      const first = elections[0].campaign();
      await first;
      // Candidates queue in the order their keys were created (createVersion), not the order their
      // campaigns started: stand b, and only once b's key exists, c, so that b is next in line.
      const others: Promise<void>[] = [];
      for (const e of elections.slice(1)) {
        others.push(e.campaign());
        await waitFor(`${e.key} standing`, async () => (await store.get(e.key)) !== undefined);
      }
      expect((await store.listAll(prefix)).length).toBe(3);
      expect(elections.map((e) => e.isLeader)).toEqual([true, false, false]);
      expect(text((await Election.leader(store, prefix))!.value)).toBe('a');
      await elections[0].resign();
      await others[0];
      expect(elections.map((e) => e.isLeader)).toEqual([false, true, false]);
      await elections[1].proclaim(bytes('b2'));
      await waitFor('observer sees b2', () => seen.at(-1) === 'b2');
      await elections[1].resign();
      await others[1];
      expect(elections.map((e) => e.isLeader)).toEqual([false, false, true]);
      await elections[2].resign();
      await waitFor('observer sees no leader', () => seen.at(-1) === undefined && seen.length > 1);
      expect(seen.filter((v) => v !== undefined)).toEqual(['a', 'b', 'b2', 'c']);
      await observer.close();
    });

    it('a lost session ends leadership; a standby takes over', async () => {
      const prefix = '/el/loss/';
      const s1 = await session(store, 3000);
      const s2 = await session(peer, 3000);
      const leader = new Election({ store, prefix, session: s1, value: bytes('1') });
      const standby = new Election({ store: peer, prefix, session: s2, value: bytes('2') });
      await leader.campaign();
      const takeover = standby.campaign();
      const lost: Error[] = [];
      leader.onLeadershipLost((e) => lost.push(e));
      await waitFor('standby candidacy', async () => (await store.listAll(prefix)).length === 2);
      expect(await peer.revokeSession(s1.id)).toBe(true);
      await takeover;
      await waitFor('old leader told', () => lost.length === 1);
      expect(leader.isLeader).toBe(false);
      expect(standby.isLeader).toBe(true);
      expect((lost[0] as { code?: string }).code).toBe('CAMPAIGN_ABORTED');
      await standby.resign();
    });

    it('aborts a campaign whose candidacy key is deleted, and one on a dead session', async () => {
      const prefix = '/el/del/';
      const s1 = await session();
      const s2 = await session(peer);
      await new Election({ store, prefix, session: s1, value: bytes('1') }).campaign();
      const waiting = new Election({ store: peer, prefix, session: s2, value: bytes('2') });
      const campaign = waiting.campaign();
      await waitFor('candidacy', async () => (await store.get(waiting.key)) !== undefined);
      // Handle the rejection before deleting: the watch can end the campaign before delete() returns.
      const aborted = expectCode(campaign, 'CAMPAIGN_ABORTED');
      await store.delete(waiting.key);
      await aborted;
      await s2.close();
      await expectCode(
        new Election({ store: peer, prefix, session: s2, value: bytes('x') }).campaign(),
        'CAMPAIGN_ABORTED',
      );
    });
  });
}
