/**
 * Per-bundle load reports of real broker processes drive the coordinator's automatic split: with a
 * topic threshold of 1, a one-bundle namespace holding several busy topics is split (children stay
 * with their owner), and every producer keeps getting receipts.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Producer, PulsarClient } from '../../lib/client/index.ts';
import type { ClusterView } from '../../lib/cluster/view.ts';
import {
  type BrokerProcess,
  type StorageCluster,
  spawnBroker,
  startStorageCluster,
} from '../broker/cluster.ts';
import { stopAll } from '../harness/index.ts';
import { brokersClient, startClusterView, waitFor } from './helpers.ts';
import { startCoordinatorProc } from './procs.ts';

const endpoint = inject('etcdEndpoint');
let sc: StorageCluster;
let client: PulsarClient | undefined;
let view: ClusterView | undefined;

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await view?.close();
  await stopAll();
  await sc?.stop();
});

async function bundlesOf(
  b: BrokerProcess,
  ns: string,
): Promise<{ numBundles: number; boundaries: string[] }> {
  const res = await fetch(`http://127.0.0.1:${b.webPort}/admin/v2/namespaces/${ns}/bundles`);
  expect(res.status).toBe(200);
  return (await res.json()) as { numBundles: number; boundaries: string[] };
}

describe('automatic split from per-bundle loads', { concurrent: false }, () => {
  it('splits a namespace bundle whose reported topics pass the threshold', async () => {
    sc = await startStorageCluster(endpoint, 1, 1);
    const prefix = sc.rc.metadataUrl.slice(`etcd://${endpoint}`.length);
    const flags = { sessionTtlMs: 2000, loadReportIntervalMs: 200 };
    const brokers = await Promise.all([spawnBroker(sc, 'ls-1', flags), spawnBroker(sc, 'ls-2', flags)]);
    await startCoordinatorProc(endpoint, prefix, sc.rc.cluster, 'ls-coord', {
      'shedding-enabled': false,
      'split-interval-ms': 300,
      'split-max-topics': 1,
      'max-bundles-per-namespace': 4,
    });
    const created = await fetch(`http://127.0.0.1:${brokers[0].webPort}/admin/v2/namespaces/public/hot`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ bundles: { numBundles: 1 } }),
    });
    expect(created.status).toBe(204);
    expect((await bundlesOf(brokers[1], 'public/hot')).numBundles).toBe(1);

    view = await startClusterView(sc.store, sc.rc.cluster);
    client = brokersClient(brokers);
    const producers: Producer[] = [];
    for (let i = 0; i < 6; i++) {
      const p = await client.createProducer({ topic: `persistent://public/hot/t-${i}` });
      await p.send({ payload: 'first' });
      producers.push(p);
    }
    // What the owner reports for the namespace before (or while) it is split: its topics and sessions.
    await waitFor('a per-bundle load report for public/hot', () =>
      view!
        .brokers()
        .some((r) => (r.load?.bundleLoads ?? []).some((b) => b.namespace === 'public/hot' && b.topics >= 2)),
    );
    const reported = view
      .brokers()
      .flatMap((r) => r.load?.bundleLoads ?? [])
      .filter((b) => b.namespace === 'public/hot');
    expect(reported.every((b) => b.producers === b.topics)).toBe(true);

    await waitFor(
      'the coordinator split public/hot',
      async () => (await bundlesOf(brokers[0], 'public/hot')).numBundles >= 2,
    );
    for (const [i, p] of producers.entries()) await p.send({ payload: `after-${i}` });
    const after = await bundlesOf(brokers[1], 'public/hot');
    expect(after.numBundles).toBeGreaterThanOrEqual(2);
    expect(after.numBundles).toBeLessThanOrEqual(4);
    for (const p of producers) await p.close();
  });
});
