/**
 * Load shedding and bundle split by the coordinator leader, with broker agents as real processes
 * on real etcd. Load comes from the agents' load reports (message rates and per-bundle topic
 * counts set by the test); the coordinator scores msg/s against --broker-max-msg-rate.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BundleStates, ownerBound } from '../../lib/cluster/ownership-state.ts';
import { OwnershipStore } from '../../lib/cluster/ownership-store.ts';
import type { ClusterView } from '../../lib/cluster/view.ts';
import type { EtcdMetadataStore } from '../../lib/metadata/etcd-store.ts';
import { stopAll } from '../harness/index.ts';
import { CLUSTER, newPrefix, openStore, startClusterView, waitFor } from './helpers.ts';
import { type AgentProc, type CoordinatorProc, startAgent, startCoordinatorProc } from './procs.ts';

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

function ownedBy(broker: string, ns = 'acme/shed'): string[] {
  const out: string[] = [];
  for (const [id, s] of view.bundles()) {
    const r = s.record;
    if (`${id.tenant}/${id.namespace}` !== ns) continue;
    if (r?.state === BundleStates.Owned && r.owner === broker && ownerBound(r, s.ownerKey)) {
      out.push(
        `${ns}/0x${id.range.lower.toString(16).padStart(8, '0')}_0x${id.range.upper.toString(16).padStart(8, '0')}`,
      );
    }
  }
  return out.sort();
}

describe('shedding and splitting', { concurrent: false }, () => {
  let coord: CoordinatorProc;
  let a: AgentProc;

  it('sheds bundles from an overloaded broker and does not bounce them back', async () => {
    store = await openStore(prefix, endpoint);
    view = await startClusterView(store, CLUSTER, { maxBundles: 10_000, maxBrokers: 100 });
    coord = await startCoordinatorProc(endpoint, prefix, CLUSTER, 'solo', {
      'shedding-interval-ms': 300,
      'shedding-grace-ms': 600_000,
      'overload-threshold': 2,
      'broker-max-msg-rate': 1000,
      'split-interval-ms': 300,
      'split-max-topics': 5,
    });
    a = await startAgent(endpoint, prefix, CLUSTER, 'a');
    await startAgent(endpoint, prefix, CLUSTER, 'b');
    await waitFor('leader', async () => (await coord.status()).leader === true);
    for (let i = 0; i < 12; i++) {
      const r = await a.get(`/lookup?topic=persistent://acme/shed/t-${i}&authoritative=true`);
      expect(r.brokerId).toBe('a');
    }
    expect(ownedBy('a')).toHaveLength(4);
    // 5000 msg/s against a sized rate of 1000 → score 5 ≥ threshold 2.
    await a.get('/load?msgRate=5000');
    await waitFor('a sheds down to one bundle', () => ownedBy('a').length === 1 && ownedBy('b').length === 3);
    const moved = ownedBy('b');
    expect(
      a
        .unloads()
        .filter((u) => u.reason === 'unload')
        .map((u) => u.bundle)
        .sort(),
    ).toEqual(moved);
    // Several more shedding runs change nothing: one bundle left on a, the moved ones stay put.
    const shed = (await coord.status()).balancer.shed;
    const runs = (await coord.status()).balancer.shedRuns;
    await waitFor(
      'five more shedding runs',
      async () => (await coord.status()).balancer.shedRuns >= runs + 5,
    );
    expect((await coord.status()).balancer.shed).toBe(shed);
    expect(ownedBy('b')).toEqual(moved);
  });

  it('splits a bundle whose owner reports more topics than the threshold; the owner keeps the halves', async () => {
    await a.get('/load?msgRate=0');
    const [hot] = ownedBy('a');
    await a.get(`/load?bundleTopics=${encodeURIComponent(`${hot}=10`)}`);
    await waitFor('split into two children owned by a', () => ownedBy('a').length === 2);
    const os = new OwnershipStore(store, CLUSTER);
    const boundaries = await os.readBoundaries('acme', 'shed');
    expect(boundaries?.value).toHaveLength(6);
    expect((await coord.status()).balancer.split).toBe(1);
    expect(ownedBy('a')).not.toContain(hot);
    // No unload happened on a for the split: its topics stayed served.
    expect(a.unloads().filter((u) => u.bundle === hot)).toEqual([]);
  });
});
