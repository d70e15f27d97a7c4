/**
 * The whole failover path with real processes: etcd, a bookie, two broker processes with cluster
 * ownership and a coordinator. A producer (deduplication on) and an Exclusive consumer run on one
 * topic; the topic's owner is SIGKILLed mid-stream. The survivor takes the bundle over when the
 * owner's session expires, fences its ledgers and serves the topic: every acknowledged message is
 * received, the topic stores each message exactly once and in order, and no send fails.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { PulsarClient } from '../../lib/client/index.ts';
import type { ClusterView } from '../../lib/cluster/view.ts';
import {
  type BrokerProcess,
  type StorageCluster,
  spawnBroker,
  startStorageCluster,
} from '../broker/cluster.ts';
import { stopAll } from '../harness/index.ts';
import { startTopicTraffic } from '../harness/topic-traffic.ts';
import { brokersClient, defaultNamespaceBundle, startClusterView, waitFor } from './helpers.ts';
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

describe('broker failover', { concurrent: false }, () => {
  it('moves a busy topic to the survivor with no loss, no duplicate, in order', async () => {
    sc = await startStorageCluster(endpoint, 1, 1);
    const prefix = sc.rc.metadataUrl.slice(`etcd://${endpoint}`.length);
    const flags = { sessionTtlMs: 2000, brokerDeduplicationEnabled: true };
    const [b1, b2] = await Promise.all([
      spawnBroker(sc, 'fo-broker-1', flags),
      spawnBroker(sc, 'fo-broker-2', flags),
    ]);
    await startCoordinatorProc(endpoint, prefix, sc.rc.cluster, 'fo-coord');
    const brokers: BrokerProcess[] = [b1, b2];
    client = brokersClient(brokers);
    const topic = `persistent://public/default/failover-${Date.now()}`;
    const traffic = await startTopicTraffic(client, topic, {
      subscriptionType: 'Exclusive',
      producerName: 'failover-producer',
      batchingMaxPublishDelayMs: 5,
      pauseEvery: 10,
    });

    await traffic.send(300);
    await waitFor('first receipts', () => traffic.acked.size >= 150);
    // The topic's owner, from the ownership records.
    view = await startClusterView(sc.store, sc.rc.cluster);
    const bundle = await defaultNamespaceBundle(sc.store, sc.rc.cluster, topic);
    const owned = view.bundle(bundle);
    if (owned === 'uncached' || !owned.record) throw new Error('topic bundle not owned');
    const ownerUrl = view.broker(owned.record.owner)!.serviceUrl;
    const owner = brokers.find((b) => b.url === ownerUrl)!;
    expect(owner).toBeDefined();
    await owner.proc.kill('SIGKILL');
    await traffic.send(300); // queued and resent while the topic moves
    await traffic.producer.flush();
    expect(traffic.failed).toEqual([]);
    expect(traffic.acked.size).toBe(600);
    await waitFor('every acknowledged message received', traffic.allAckedReceived, 60_000);
    await traffic.stopReceiving();
    // First deliveries come in send order (redeliveries after the move only repeat earlier ones).
    const firstSeen = traffic.firstSeen.map((p) => Number(p.slice(1)));
    expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
    // The topic stores every message exactly once, in order.
    expect(await traffic.readStored()).toEqual(Array.from({ length: 600 }, (_, i) => `m${i}`));
    await traffic.closeAudit();
    // The survivor now owns the bundle.
    const after = view.bundle(bundle);
    expect(after !== 'uncached' && view.broker(after.record!.owner)?.serviceUrl).toBe(
      brokers.find((b) => b !== owner)!.url,
    );
  });
});
