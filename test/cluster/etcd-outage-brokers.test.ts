/**
 * etcd briefly unreachable under real brokers: a private etcd, two bookies, two broker processes
 * with cluster ownership, a coordinator, and a producer (deduplication on) plus an Exclusive
 * consumer on one topic. etcd is paused (SIGSTOP) for longer than the session TTL: the owner can no
 * longer vouch for its session, gives the bundle up and closes the topic, so nothing sent from then
 * on is confirmed while etcd is away. Once etcd is back the topic is owned again, traffic goes on,
 * and every confirmed message is stored exactly once, in order, and received.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { PulsarClient } from '../../lib/client/index.ts';
import { BundleStates, ownerBound } from '../../lib/cluster/ownership-state.ts';
import type { ClusterView } from '../../lib/cluster/view.ts';
import {
  type BrokerProcess,
  type StorageCluster,
  spawnBroker,
  startStorageCluster,
} from '../broker/cluster.ts';
import { type EtcdInstance, startLocalEtcd, stopAll } from '../harness/index.ts';
import { startTopicTraffic } from '../harness/topic-traffic.ts';
import { brokersClient, defaultNamespaceBundle, startClusterView, waitFor } from './helpers.ts';
import { startCoordinatorProc } from './procs.ts';

const TTL_MS = 4000;
/** How long etcd stays paused at least (longer than the TTL, so every session is lost). */
const PAUSE_MS = 7000;
let etcd: EtcdInstance | undefined;
let sc: StorageCluster | undefined;
let client: PulsarClient | undefined;
let view: ClusterView | undefined;

afterAll(async () => {
  etcd?.resume?.();
  await client?.close().catch(() => undefined);
  await view?.close().catch(() => undefined);
  await stopAll();
  await sc?.stop().catch(() => undefined);
  await etcd?.stop();
});

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `m${from + i}`);

describe('etcd unreachable under real brokers', { concurrent: false }, () => {
  it('stops confirming while the owner cannot vouch for its session, then recovers with no loss or duplicate', async () => {
    etcd = await startLocalEtcd();
    sc = await startStorageCluster(etcd.endpoint, 2, 2);
    const prefix = sc.rc.metadataUrl.slice(`etcd://${etcd.endpoint}`.length);
    const flags = { sessionTtlMs: TTL_MS, brokerDeduplicationEnabled: true };
    const brokers: BrokerProcess[] = await Promise.all([
      spawnBroker(sc, 'eo-broker-1', flags),
      spawnBroker(sc, 'eo-broker-2', flags),
    ]);
    await startCoordinatorProc(etcd.endpoint, prefix, sc.rc.cluster, 'eo-coord', {
      'session-ttl-ms': TTL_MS,
    });
    client = brokersClient(brokers);
    const topic = `persistent://public/default/etcd-outage-${Date.now()}`;
    const traffic = await startTopicTraffic(client, topic, {
      subscriptionType: 'Exclusive',
      producerName: 'etcd-outage-producer',
      batchingMaxPublishDelayMs: 5,
      pauseEvery: 10,
    });

    await traffic.send(200);
    await traffic.producer.flush();
    expect(traffic.failed).toEqual([]);
    view = await startClusterView(sc.store, sc.rc.cluster);
    const bundle = await defaultNamespaceBundle(sc.store, sc.rc.cluster, topic);
    const before = view.bundle(bundle);
    if (before === 'uncached' || !before.record) throw new Error('topic bundle not owned');
    const ownerUrl = view.broker(before.record.owner)!.serviceUrl;
    const owner = brokers.find((b) => b.url === ownerUrl)!;
    expect(owner).toBeDefined();

    // etcd away for longer than the TTL: the owner cannot confirm a keep-alive and gives up.
    const pausedAt = performance.now();
    etcd.pause!();
    await waitFor('the owner gave its bundles up', () =>
      owner.proc.logs().includes('broker session lost: giving up every bundle'),
    );
    // Sent after the owner closed the topic and while etcd is still away: no broker may confirm them.
    await traffic.send(100);
    const left = PAUSE_MS - (performance.now() - pausedAt);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    const confirmedDuringOutage = range(200, 300).filter((p) => traffic.acked.has(p));
    etcd.resume!();
    expect(confirmedDuringOutage).toEqual([]);

    // etcd is back: the held messages and new ones are confirmed.
    await traffic.send(100);
    await traffic.producer.flush();
    expect(traffic.failed).toEqual([]);
    expect(range(300, 400).every((p) => traffic.acked.has(p))).toBe(true);
    expect(traffic.acked.size).toBe(400);
    await waitFor('every confirmed message received', traffic.allAckedReceived, 30_000);
    await traffic.stopReceiving();
    const firstSeen = traffic.firstSeen.map((p) => Number(p.slice(1)));
    expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
    expect(await traffic.readStored()).toEqual(range(0, 400));
    await traffic.closeAudit();

    // The topic's bundle is owned again, by one of the two brokers.
    const urls = brokers.map((b) => b.url);
    await waitFor('the bundle owned again', () => {
      const s = view!.bundle(bundle);
      if (s === 'uncached' || s.record?.state !== BundleStates.Owned || !ownerBound(s.record, s.ownerKey))
        return false;
      return urls.includes(view!.broker(s.record.owner)?.serviceUrl ?? '');
    });
    for (const b of brokers) expect(b.proc.child.exitCode).toBeNull();
  });
});
