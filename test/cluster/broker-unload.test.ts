/**
 * Graceful unload with real broker processes: while a producer and a consumer run, the topic's
 * bundle is unloaded to the other broker (what the admin unload and load shedding do). The owner
 * closes the producer and consumer with CLOSE_PRODUCER / CLOSE_CONSUMER, releases the bundle, the
 * destination claims it, and the clients carry on there: no send fails, every message arrives.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MessageId, PulsarClient } from '../../lib/client/index.ts';
import { BundleActions } from '../../lib/cluster/actions.ts';
import { requestUnload, waitSettled } from '../../lib/cluster/bundle-ops.ts';
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

describe('graceful unload with brokers', { concurrent: false }, () => {
  it('moves a busy topic to another broker without failing a send', async () => {
    sc = await startStorageCluster(endpoint, 1, 1);
    const brokers: BrokerProcess[] = await Promise.all([spawnBroker(sc, 'ul-1'), spawnBroker(sc, 'ul-2')]);
    client = new PulsarClient({
      serviceUrl: `pulsar://127.0.0.1:${brokers[0].port},127.0.0.1:${brokers[1].port}`,
      initialBackoffMs: 50,
      maxBackoffMs: 500,
      operationTimeoutMs: 30_000,
    });
    const topic = `persistent://public/default/unload-${Date.now()}`;
    const consumer = await client.subscribe({
      topic,
      subscription: 'sub',
      subscriptionType: 'Failover',
      ackGroupTimeMs: 10,
    });
    // Never acknowledged: keeps every stored entry from being trimmed, so the reader sees them all.
    const audit = await client.subscribe({ topic, subscription: 'audit', receiverQueueSize: 1 });
    const producer = await client.createProducer({
      topic,
      producerName: 'unload-producer',
      batchingMaxPublishDelayMs: 2,
    });
    const acked = new Set<string>();
    const failed: string[] = [];
    const seen = new Set<string>();
    let receiving = true;
    const receiveLoop = (async () => {
      while (receiving) {
        try {
          const m = await consumer.receive(200);
          seen.add(m.text());
          consumer.ack(m);
        } catch {
          // timeouts while the topic moves
        }
      }
    })();
    let n = 0;
    const sendSome = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const payload = `m${n++}`;
        producer.sendAsync({ payload }, (err) =>
          err ? failed.push(`${payload}: ${err.message}`) : acked.add(payload),
        );
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    };
    await sendSome(200);
    await waitFor('first receipts', () => acked.size >= 100);

    view = new ClusterView(sc.store, sc.rc.cluster, {
      maxBundles: 1000,
      maxBrokers: 10,
      resyncDelayMs: 200,
      log: silentLogger(),
    });
    await view.start();
    const os = new OwnershipStore(sc.store, sc.rc.cluster);
    const boundaries = (await os.readBoundaries('public', 'default'))!.value;
    const id = { tenant: 'public', namespace: 'default', range: findRange(boundaries, topicHash(topic)) };
    const before = view.bundle(id);
    if (before === 'uncached' || !before.record) throw new Error('bundle not owned');
    const from = before.record.owner;
    const to = view.brokers().find((b) => b.brokerId !== from)!.brokerId;
    const actions = new BundleActions(os, view, 'test-admin', silentLogger());
    expect(await requestUnload(actions, id, { destination: to, reason: 'test-unload', move: true })).toBe(
      'released',
    );
    const unloading = sendSome(200);
    expect(await waitSettled(actions, id, 30_000)).toBe(true);
    await unloading;
    await waitFor('the destination owns the bundle', () => {
      const s = view!.bundle(id);
      return s !== 'uncached' && s.record?.state === 'owned' && s.record.owner === to;
    });
    await sendSome(100);
    await producer.flush();
    expect(failed).toEqual([]);
    expect(acked.size).toBe(500);
    await waitFor('every acknowledged message received', () => [...acked].every((p) => seen.has(p)), 60_000);
    receiving = false;
    await receiveLoop;
    const reader = await client.createReader({ topic, startMessageId: MessageId.earliest });
    const stored: string[] = [];
    while (await reader.hasMessageAvailable()) stored.push((await reader.readNext(10_000)).text());
    expect(stored).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
    await reader.close();
    await audit.close();
  });
});
