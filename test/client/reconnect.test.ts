/**
 * Reconnects against a real broker: the whole standalone (broker, bookie, metadata) is stopped and
 * started again on the same ports and data while a producer and a consumer keep going. Every
 * message the broker acknowledged must reach the consumer; with deduplication on, the producer's
 * resends (same sequence ids) must not store anything twice.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { PulsarClient } from '../../lib/client/index.ts';
import { freePorts, tempDir } from '../harness/index.ts';
import { startTopicTraffic } from '../harness/topic-traffic.ts';
import { eventually, startTestStandalone, type TestCluster, uniqueTopic } from './helpers.ts';

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
    const traffic = await startTopicTraffic(client, topic, {
      subscriptionType: 'Shared',
      producerName: 'restarting',
      batchingMaxPublishDelayMs: 5,
      pauseEvery: 20,
    });

    await traffic.send(200);
    await eventually(() => traffic.acked.size >= 100, 'first receipts');
    await tc.standalone.close();
    await traffic.send(100); // queued while the broker is down
    tc = await startTestStandalone(settings, dataDir, { broker, web });
    await traffic.send(100);
    await traffic.producer.flush();
    expect(traffic.failed).toEqual([]);
    expect(traffic.acked.size).toBe(400);
    await eventually(traffic.allAckedReceived, 'every acknowledged message received', 60_000);
    await traffic.stopReceiving();

    const stored = new Map<string, number>();
    for (const t of await traffic.readStored()) stored.set(t, (stored.get(t) ?? 0) + 1);
    expect(stored.size).toBe(400);
    expect([...stored.values()].every((count) => count === 1)).toBe(true);
    await traffic.closeAudit();
  });
});
