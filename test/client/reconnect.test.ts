/**
 * Reconnects against a real broker: the whole standalone (broker, bookie, metadata) is stopped and
 * started again on the same ports and data while a producer and a consumer keep going. Every
 * message the broker acknowledged must reach the consumer; with deduplication on, the producer's
 * resends (same sequence ids) must not store anything twice.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MessageId, type PulsarClient } from '../../lib/client/index.ts';
import { freePorts, tempDir } from '../harness/index.ts';
import { eventually, sleep, startTestStandalone, type TestCluster, uniqueTopic } from './helpers.ts';

const clients: PulsarClient[] = [];
let tc: TestCluster | undefined;

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await tc?.stop();
});

describe('reconnect across a broker restart', { concurrent: false }, () => {
  it('loses no acknowledged message and stores no duplicate', async () => {
    const dataDir = tempDir('restart-');
    const [broker, web] = await freePorts(2);
    const settings = { brokerDeduplicationEnabled: true };
    tc = await startTestStandalone(settings, dataDir, { broker, web });
    const { PulsarClient: Client } = await import('../../lib/client/index.ts');
    const client = new Client({
      serviceUrl: tc.serviceUrl,
      initialBackoffMs: 50,
      maxBackoffMs: 500,
      operationTimeoutMs: 30_000,
    });
    clients.push(client);
    const topic = uniqueTopic('restart');
    const consumer = await client.subscribe({
      topic,
      subscription: 's',
      subscriptionType: 'Shared',
      ackGroupTimeMs: 10,
    });
    // Never acknowledged: keeps every stored entry (no retention), so the reader sees them all.
    const audit = await client.subscribe({ topic, subscription: 'audit', receiverQueueSize: 1 });
    const producer = await client.createProducer({
      topic,
      producerName: 'restarting',
      batchingMaxPublishDelayMs: 5,
    });

    const acked = new Set<string>();
    const failed: string[] = [];
    const received = new Set<string>();
    let receiving = true;
    const receiveLoop = (async () => {
      while (receiving) {
        try {
          const m = await consumer.receive(200);
          received.add(m.text());
          consumer.ack(m);
        } catch {
          // timeouts while the broker is down
        }
      }
    })();
    let n = 0;
    const sendSome = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const payload = `m${n++}`;
        producer.sendAsync({ payload }, (err) => (err ? failed.push(payload) : acked.add(payload)));
        if (i % 20 === 0) await sleep(5);
      }
    };

    await sendSome(200);
    await eventually(() => acked.size >= 100, 'first receipts');
    await tc.standalone.close();
    await sendSome(100); // queued while the broker is down
    tc = await startTestStandalone(settings, dataDir, { broker, web });
    await sendSome(100);
    await producer.flush();
    expect(failed).toEqual([]);
    expect(acked.size).toBe(400);
    await eventually(
      () => [...acked].every((p) => received.has(p)),
      'every acknowledged message received',
      60_000,
    );
    receiving = false;
    await receiveLoop;

    const reader = await client.createReader({ topic, startMessageId: MessageId.earliest });
    const stored = new Map<string, number>();
    while (await reader.hasMessageAvailable()) {
      const t = (await reader.readNext(10_000)).text();
      stored.set(t, (stored.get(t) ?? 0) + 1);
    }
    expect(stored.size).toBe(400);
    expect([...stored.values()].every((count) => count === 1)).toBe(true);
    await audit.close();
  });
});
