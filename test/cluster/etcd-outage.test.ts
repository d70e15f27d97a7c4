/**
 * A private etcd paused (SIGSTOP) under a coordinator and two broker agents: a pause shorter than
 * the session TTL changes nothing; a pause longer than the TTL ends every session, the brokers give
 * their bundles up, and once etcd is back a leader is elected again and every bundle is owned again.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BundleStates, ownerBound } from '../../lib/cluster/ownership-state.ts';
import type { ClusterView } from '../../lib/cluster/view.ts';
import type { EtcdMetadataStore } from '../../lib/metadata/etcd-store.ts';
import { type EtcdInstance, startLocalEtcd, stopAll, uniquePrefix } from '../harness/index.ts';
import { CLUSTER, openStore, startClusterView, waitFor } from './helpers.ts';
import { type AgentProc, type CoordinatorProc, startAgent, startCoordinatorProc, tryJson } from './procs.ts';

const TTL_MS = 4000;
let etcd: EtcdInstance;
let store: EtcdMetadataStore;
let view: ClusterView;

afterAll(async () => {
  await stopAll();
  etcd?.resume?.();
  await view?.close().catch(() => undefined);
  await store?.close().catch(() => undefined);
  await etcd?.stop();
});

function owners(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, s] of view.bundles()) {
    const r = s.record;
    if (r?.state === BundleStates.Owned && ownerBound(r, s.ownerKey)) out.set(`${id.range.lower}`, r.owner);
  }
  return out;
}

describe('etcd unreachable', { concurrent: false }, () => {
  let coord: CoordinatorProc;
  const agents: AgentProc[] = [];
  const prefix = uniquePrefix('outage');
  const topics = Array.from({ length: 12 }, (_, i) => `persistent://acme/outage/t-${i}`);

  it('rides out a pause shorter than the session TTL without losing anything', async () => {
    etcd = await startLocalEtcd();
    store = await openStore(prefix, etcd.endpoint);
    view = await startClusterView(store, CLUSTER);
    coord = await startCoordinatorProc(etcd.endpoint, prefix, CLUSTER, 'c', { 'session-ttl-ms': TTL_MS });
    for (const id of ['a', 'b'])
      agents.push(
        await startAgent(etcd.endpoint, prefix, CLUSTER, id, {
          sessionTtlMs: TTL_MS,
          placementScoreTolerance: 10,
          overloadThreshold: 10,
        }),
      );
    await waitFor('leader', async () => (await coord.status()).leader === true);
    for (const t of topics) expect((await agents[0].get(`/lookup?topic=${t}`)).error).toBeUndefined();
    await waitFor('4 owned', () => owners().size === 4);
    const before = new Map(owners());
    const sessions = await Promise.all(agents.map(async (a) => (await a.get('/owned')).session));
    etcd.pause!();
    await new Promise((r) => setTimeout(r, TTL_MS / 8));
    etcd.resume!();
    // Let a few keep-alive rounds pass, then nothing may have changed.
    await new Promise((r) => setTimeout(r, TTL_MS));
    expect(await Promise.all(agents.map(async (a) => (await a.get('/owned')).session))).toEqual(sessions);
    expect(agents.flatMap((a) => a.unloads())).toEqual([]);
    expect(owners()).toEqual(before);
    expect((await coord.status()).leader).toBe(true);
  });

  it('recovers after a pause longer than the TTL: sessions end, bundles come back', async () => {
    etcd.pause!();
    await new Promise((r) => setTimeout(r, TTL_MS * 2));
    etcd.resume!();
    await waitFor('brokers gave their bundles up', () =>
      agents.some((a) => a.unloads().some((u) => u.reason === 'lost')),
    );
    await waitFor(
      'a leader again',
      async () => (await tryJson(`http://127.0.0.1:${coord.port}/status`))?.leader === true,
    );
    await waitFor('both agents running with new sessions', async () => {
      const states = await Promise.all(agents.map((a) => tryJson(`http://127.0.0.1:${a.port}/owned`)));
      return states.every((s) => s?.state === 'running');
    });
    // As a client does: look up, connect to the owner; a NOT_OWNER answer (the asking broker's
    // view may still show an ownership that ended with the old session) means look up again.
    for (const t of topics) {
      await waitFor(`${t} served by the broker its lookup names`, async () => {
        const r = await agents[1].get(`/lookup?topic=${t}`);
        if (r.error !== undefined) return false;
        const owner = agents.find((a) => a.id === r.brokerId);
        return owner !== undefined && (await owner.get(`/check?topic=${t}`)).error === undefined;
      });
    }
    await waitFor('4 owned again', () => owners().size === 4);
    // No process died on the way.
    for (const p of [coord.proc, ...agents.map((a) => a.proc)]) expect(p.child.exitCode).toBeNull();
  });
});
