/**
 * Coordinators and broker agents as real processes on real etcd: one leader; SIGKILL of the
 * leader hands leadership to the standby and assignment goes on; SIGKILL of a broker frees its
 * bundles when its session expires and the leader reassigns them to the survivors.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BundleStates, ownerBound } from '../../lib/cluster/ownership-state.ts';
import type { ClusterView } from '../../lib/cluster/view.ts';
import type { EtcdMetadataStore } from '../../lib/metadata/etcd-store.ts';
import { stopAll } from '../harness/index.ts';
import { CLUSTER, newPrefix, openStore, startClusterView, waitFor } from './helpers.ts';
import { type AgentProc, type CoordinatorProc, startAgent, startCoordinatorProc, tryJson } from './procs.ts';

const endpoint = inject('etcdEndpoint');
const prefix = newPrefix();
let store: EtcdMetadataStore;
let view: ClusterView;

afterAll(async () => {
  await stopAll();
  await view?.close();
  await store?.deletePrefix('/');
  await store?.close();
});

/** Bundles owned (bound owner key) per broker, from an independent view of etcd. */
function ownership(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [id, s] of view.bundles()) {
    const r = s.record;
    if (r?.state === BundleStates.Owned && ownerBound(r, s.ownerKey))
      out.set(`${id.tenant}/${id.namespace}/${id.range.lower}`, r.owner);
  }
  return out;
}

describe('coordinator failover and dead brokers', { concurrent: false }, () => {
  let c1: CoordinatorProc;
  let c2: CoordinatorProc;
  const agents: AgentProc[] = [];
  const topics = Array.from({ length: 16 }, (_, i) => `persistent://acme/failover/t-${i}`);

  it('elects exactly one leader among two coordinators', async () => {
    store = await openStore(prefix, endpoint);
    view = await startClusterView(store, CLUSTER, { maxBundles: 10_000, maxBrokers: 100 });
    [c1, c2] = await Promise.all([
      startCoordinatorProc(endpoint, prefix, CLUSTER, 'c1'),
      startCoordinatorProc(endpoint, prefix, CLUSTER, 'c2'),
    ]);
    await waitFor('a leader', async () => (await c1.status()).leader || (await c2.status()).leader);
    const [s1, s2] = [await c1.status(), await c2.status()];
    expect([s1.leader, s2.leader].filter(Boolean)).toHaveLength(1);
    expect(s1.leaderId).toBe(s2.leaderId);
  });

  it('assigns every bundle looked up to a live broker', async () => {
    for (const id of ['a', 'b', 'c'])
      agents.push(
        await startAgent(endpoint, prefix, CLUSTER, id, {
          placementScoreTolerance: 10,
          overloadThreshold: 10,
        }),
      );
    for (const t of topics) {
      const r = await agents[0].get(`/lookup?topic=${encodeURIComponent(t)}`);
      expect(r.error).toBeUndefined();
    }
    await waitFor('4 bundles owned', () => ownership().size === 4);
  });

  it('lets the standby take over when the leader is SIGKILLed, and assignment continues', async () => {
    const leader = (await c1.status()).leader ? c1 : c2;
    const standby = leader === c1 ? c2 : c1;
    await leader.proc.kill('SIGKILL');
    await waitFor(
      'standby leads',
      async () => (await tryJson(`http://127.0.0.1:${standby.port}/status`))?.leader === true,
    );
    // Assignment still works under the new leader: a broker dies, its bundles come back.
    const victim = agents[2];
    const before = ownership();
    const held = [...before].filter(([, o]) => o === victim.id).map(([b]) => b);
    await victim.proc.kill('SIGKILL');
    await waitFor('victim deregistered', () => !view.isRegistered(victim.id));
    await waitFor('every bundle owned by a live broker', () => {
      const now = ownership();
      return now.size === 4 && [...now.values()].every((o) => o !== victim.id);
    });
    const status = await standby.status();
    expect(status.leader).toBe(true);
    if (held.length > 0) expect(status.balancer.orphansFreed + status.balancer.assigned).toBeGreaterThan(0);
    // Lookups from a survivor agree with the records, and the owner serves.
    for (const t of topics) {
      const r = await agents[1].get(`/lookup?topic=${encodeURIComponent(t)}`);
      expect(['a', 'b']).toContain(r.brokerId);
      const owner = agents.find((x) => x.id === r.brokerId)!;
      expect((await owner.get(`/check?topic=${encodeURIComponent(t)}`)).error).toBeUndefined();
    }
  });

  it('reassigns the bundles of a dead broker even with no lookups', async () => {
    const victim = agents[0];
    await waitFor('victim owns something', () => [...ownership().values()].includes(victim.id));
    await victim.proc.kill('SIGKILL');
    await waitFor('all bundles on the last broker', () => {
      const now = ownership();
      return now.size === 4 && [...now.values()].every((o) => o === 'b');
    });
    expect((await agents[1].get('/owned')).bundles).toHaveLength(4);
  });
});
