/**
 * The whole failover path with real processes: etcd, a bookie, two broker processes with cluster
 * ownership and a coordinator. A producer (deduplication on) and an Exclusive consumer run on one
 * topic; the topic's owner is SIGKILLed mid-stream. The survivor takes the bundle over when the
 * owner's session expires, fences its ledgers and serves the topic: every acknowledged message is
 * received, the topic stores each message exactly once and in order, and no send fails.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MessageId, PulsarClient } from '../../lib/client/index.ts';
import { findRange, topicHash } from '../../lib/cluster/bundle-range.ts';
import { OwnershipStore } from '../../lib/cluster/ownership-store.ts';
import { ClusterView } from '../../lib/cluster/view.ts';
import { silentLogger } from '../../lib/log/index.ts';
import {
  type BrokerProcess,
  type StorageCluster,
  spawnBroker,
  startStorageCluster,
} from '../broker/cluster.ts';
import { stopAll } from '../harness/index.ts';
import { waitFor } from './helpers.ts';
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
    client = new PulsarClient({
      serviceUrl: `pulsar://127.0.0.1:${b1.port},127.0.0.1:${b2.port}`,
      initialBackoffMs: 50,
      maxBackoffMs: 500,
      operationTimeoutMs: 30_000,
    });
    const topic = `persistent://public/default/failover-${Date.now()}`;
    const consumer = await client.subscribe({
      topic,
      subscription: 'sub',
      subscriptionType: 'Exclusive',
      ackGroupTimeMs: 10,
    });
    // Never acknowledged: keeps every stored entry from being trimmed, so the reader sees them all.
    const audit = await client.subscribe({ topic, subscription: 'audit', receiverQueueSize: 1 });
    const producer = await client.createProducer({
      topic,
      producerName: 'failover-producer',
      batchingMaxPublishDelayMs: 5,
    });

    const acked = new Set<string>();
    const failed: string[] = [];
    const firstSeen: number[] = [];
    const seen = new Set<number>();
    let receiving = true;
    const receiveLoop = (async () => {
      while (receiving) {
        try {
          const m = await consumer.receive(200);
          const n = Number(m.text().slice(1));
          if (!seen.has(n)) firstSeen.push(n);
          seen.add(n);
          consumer.ack(m);
        } catch {
          // receive timeouts while the topic moves
        }
      }
    })();
    let n = 0;
    const sendSome = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const payload = `m${n++}`;
        producer.sendAsync({ payload }, (err) => (err ? failed.push(payload) : acked.add(payload)));
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    };

    await sendSome(300);
    await waitFor('first receipts', () => acked.size >= 150);
    // The topic's owner, from the ownership records.
    view = new ClusterView(sc.store, sc.rc.cluster, {
      maxBundles: 1000,
      maxBrokers: 10,
      resyncDelayMs: 200,
      log: silentLogger(),
    });
    await view.start();
    const boundaries = (await new OwnershipStore(sc.store, sc.rc.cluster).readBoundaries(
      'public',
      'default',
    ))!.value;
    const range = findRange(boundaries, topicHash(topic));
    const owned = view.bundle({ tenant: 'public', namespace: 'default', range });
    if (owned === 'uncached' || !owned.record) throw new Error('topic bundle not owned');
    const ownerUrl = view.broker(owned.record.owner)!.serviceUrl;
    const owner = brokers.find((b) => b.url === ownerUrl)!;
    expect(owner).toBeDefined();
    await owner.proc.kill('SIGKILL');
    await sendSome(300); // queued and resent while the topic moves
    await producer.flush();
    expect(failed).toEqual([]);
    expect(acked.size).toBe(600);
    await waitFor(
      'every acknowledged message received',
      () => [...acked].every((p) => seen.has(Number(p.slice(1)))),
      60_000,
    );
    receiving = false;
    await receiveLoop;
    // First deliveries come in send order (redeliveries after the move only repeat earlier ones).
    expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
    // The topic stores every message exactly once, in order.
    const reader = await client.createReader({ topic, startMessageId: MessageId.earliest });
    const stored: string[] = [];
    while (await reader.hasMessageAvailable()) stored.push((await reader.readNext(10_000)).text());
    expect(stored).toEqual(Array.from({ length: 600 }, (_, i) => `m${i}`));
    await reader.close();
    await audit.close();
    // The survivor now owns the bundle.
    const after = view.bundle({ tenant: 'public', namespace: 'default', range });
    expect(after !== 'uncached' && view.broker(after.record!.owner)?.serviceUrl).toBe(
      brokers.find((b) => b !== owner)!.url,
    );
  });
});
