/**
 * Producer features against a real broker and bookie (standalone in this process): batching by
 * count, bytes and delay, every compression codec, keys/ordering keys/properties/event time,
 * delayed delivery, partitioned routing like the Java client, backpressure, deduplication-safe
 * sequence ids.
 */
import { describe, expect, it } from 'vitest';
import type { Consumer, Producer } from '../../lib/client/index.ts';
import { MessageId } from '../../lib/client/index.ts';
import { murmur3KeyHash, signSafeMod } from '../../lib/client/producer/router.ts';
import { createPartitionedTopic, take, uniqueTopic, useTestStandalone } from './helpers.ts';

const fx = useTestStandalone({ brokerDeduplicationEnabled: true });

async function pair(
  topic: string,
  producerOpts: Record<string, unknown> = {},
): Promise<[Producer, Consumer]> {
  const consumer = await fx.client.subscribe({
    topic,
    subscription: 'sub',
    subscriptionInitialPosition: 'Earliest',
  });
  const producer = await fx.client.createProducer({ topic, ...producerOpts });
  return [producer, consumer];
}

describe('producer', { concurrent: false }, () => {
  it('batches by count: messages sent together share entries of at most batchingMaxMessages', async () => {
    const [producer, consumer] = await pair(uniqueTopic('count'), {
      batchingMaxMessages: 5,
      batchingMaxPublishDelayMs: 1000,
    });
    const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => producer.send({ payload: `m${i}` })));
    const entries = new Map<string, number>();
    for (const id of ids) entries.set(`${id.ledgerId}:${id.entryId}`, id.batchSize);
    expect([...entries.values()]).toEqual([5, 5, 2]);
    expect(ids.map((id) => id.batchIndex)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]);
    expect((await take(consumer, 12)).map((m) => m.text())).toEqual(ids.map((_, i) => `m${i}`));
  });

  it('batches by bytes and sends a message larger than the batch on its own', async () => {
    const [producer, consumer] = await pair(uniqueTopic('bytes'), {
      batchingMaxBytes: 1000,
      batchingMaxPublishDelayMs: 1000,
    });
    const sends = Array.from({ length: 5 }, () => producer.send({ payload: Buffer.alloc(400, 1) }));
    sends.push(producer.send({ payload: Buffer.alloc(5000, 2) }));
    const ids = await Promise.all(sends);
    // 400 + 400 fit in 1000 bytes, a third does not; the fifth is alone when the big one flushes it
    expect(ids.map((id) => id.batchSize)).toEqual([2, 2, 2, 2, 0, 0]);
    expect(ids[5].isBatch()).toBe(false);
    const got = await take(consumer, 6);
    expect(got[5].payload.byteLength).toBe(5000);
  });

  it('flushes a partial batch after the publish delay; flush() sends at once', async () => {
    const [producer, consumer] = await pair(uniqueTopic('delay'), { batchingMaxPublishDelayMs: 50 });
    const ids = await Promise.all([producer.send({ payload: 'a' }), producer.send({ payload: 'b' })]);
    expect(ids[0].entryId).toBe(ids[1].entryId);
    const slow = await pair(uniqueTopic('delay'), { batchingMaxPublishDelayMs: 60_000 });
    const pending = slow[0].send({ payload: 'c' });
    await slow[0].flush();
    expect((await pending).ledgerId).toBeGreaterThanOrEqual(0);
    expect((await take(slow[1], 1))[0].text()).toBe('c');
    await take(consumer, 2);
  });

  it.each(['LZ4', 'ZLIB', 'ZSTD', 'SNAPPY', 'NONE'] as const)(
    'round-trips %s-compressed batches and single messages',
    async (codec) => {
      const [batched, consumer] = await pair(uniqueTopic(`c-${codec}`), { compressionType: codec });
      const single = await fx.client.createProducer({
        topic: consumer.topics[0],
        compressionType: codec,
        batchingEnabled: false,
      });
      const text = (i: number) => `${codec}-${i}-`.repeat(50);
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          batched.send({ payload: text(i), properties: { i: String(i) } }),
        ),
      );
      await single.send({ payload: text(99), key: 'solo' });
      const got = await take(consumer, 11);
      expect(got.slice(0, 10).map((m) => m.text())).toEqual(Array.from({ length: 10 }, (_, i) => text(i)));
      expect(got[3].properties).toEqual({ i: '3' });
      expect(got[10].text()).toBe(text(99));
      expect(got[10].key).toBe('solo');
    },
  );

  it('carries keys, ordering keys, properties and event time, batched or not', async () => {
    for (const batchingEnabled of [true, false]) {
      const [producer, consumer] = await pair(uniqueTopic('meta'), { batchingEnabled });
      await Promise.all([
        producer.send({
          payload: 'x',
          key: 'k1',
          orderingKey: 'ok1',
          properties: { a: '1', b: 'два' },
          eventTime: 1234567,
        }),
        producer.send({ payload: 'y' }),
      ]);
      const [x, y] = await take(consumer, 2);
      expect(x.key).toBe('k1');
      expect(x.orderingKey?.toString()).toBe('ok1');
      expect(x.properties).toEqual({ a: '1', b: 'два' });
      expect(x.eventTime).toBe(1234567);
      expect(x.producerName).toBe(producer.producerName);
      expect(x.publishTime).toBeGreaterThan(0);
      expect(y.key).toBeUndefined();
      expect(y.eventTime).toBe(0);
      expect(y.properties).toEqual({});
    }
  });

  it('delays delivery on a Shared subscription until deliverAfter/deliverAt', async () => {
    const topic = uniqueTopic('delayed');
    const consumer = await fx.client.subscribe({ topic, subscription: 'shared', subscriptionType: 'Shared' });
    const producer = await fx.client.createProducer({ topic });
    const sentAt = Date.now();
    await producer.send({ payload: 'later', deliverAfterMs: 3000 });
    await producer.send({ payload: 'at', deliverAt: new Date(sentAt + 3000) });
    await producer.send({ payload: 'now' });
    const first = await consumer.receive(10_000);
    expect(first.text()).toBe('now');
    consumer.ack(first);
    const rest = await take(consumer, 2);
    expect(rest.map((m) => m.text()).sort()).toEqual(['at', 'later']);
    // the broker may release a delayed message up to one tick (1 s) early, never earlier
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(2000);
  });

  it('routes keyed messages of a partitioned topic to signSafeMod(murmur3_32(key), n) and unkeyed round robin', async () => {
    const topic = uniqueTopic('parts');
    await createPartitionedTopic(fx.tc.standalone.adminUrl, topic, 4);
    const consumer = await fx.client.subscribe({
      topic,
      subscription: 'all',
      subscriptionInitialPosition: 'Earliest',
    });
    const producer = await fx.client.createProducer({ topic, batchingEnabled: false });
    expect(producer.numPartitions).toBe(4);
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
    const ids = await Promise.all(keys.map((key) => producer.send({ payload: key, key })));
    for (const [i, id] of ids.entries()) expect(id.partition).toBe(signSafeMod(murmur3KeyHash(keys[i]), 4));
    const unkeyed = await Promise.all(
      Array.from({ length: 8 }, (_, i) => producer.send({ payload: `u${i}` })),
    );
    expect(new Set(unkeyed.map((id) => id.partition)).size).toBe(4);
    const got = await take(consumer, 16);
    expect(got.map((m) => m.text()).sort()).toEqual(
      [...keys, ...Array.from({ length: 8 }, (_, i) => `u${i}`)].sort(),
    );
    for (const m of got) expect(m.topic).toBe(`${topic}-partition-${m.messageId.partition}`);
  });

  it('bounds the pending queue: fails with PRODUCER_QUEUE_FULL, or waits with blockIfQueueFull', async () => {
    const topic = uniqueTopic('bounded');
    const failing = await fx.client.createProducer({ topic, maxPendingMessages: 5, batchingEnabled: false });
    const results: (string | undefined)[] = [];
    await new Promise<void>((resolve) => {
      let left = 8;
      for (let i = 0; i < 8; i++) {
        failing.sendAsync({ payload: `m${i}` }, (err) => {
          results[i] = (err as { code?: string } | undefined)?.code;
          if (--left === 0) resolve();
        });
      }
    });
    expect(results).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      'PRODUCER_QUEUE_FULL',
      'PRODUCER_QUEUE_FULL',
      'PRODUCER_QUEUE_FULL',
    ]);
    const blocking = await fx.client.createProducer({
      topic,
      maxPendingMessages: 3,
      blockIfQueueFull: true,
      batchingEnabled: false,
    });
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => blocking.send({ payload: `b${i}` })));
    expect(new Set(ids.map(String)).size).toBe(20);
    expect(blocking.pendingMessages).toBe(0);
  });

  it('refuses messages above the broker maximum with MESSAGE_TOO_BIG', async () => {
    const producer = await fx.client.createProducer({ topic: uniqueTopic('big') });
    await expect(producer.send({ payload: Buffer.alloc(6 * 1024 * 1024) })).rejects.toMatchObject({
      code: 'MESSAGE_TOO_BIG',
    });
  });

  it('continues sequence ids from the broker after re-creating a named producer (deduplication)', async () => {
    const topic = uniqueTopic('seq');
    const first = await fx.client.createProducer({ topic, producerName: 'seq-producer' });
    await Promise.all(Array.from({ length: 7 }, (_, i) => first.send({ payload: `m${i}` })));
    expect(first.lastSequenceId).toBe(6);
    await first.close();
    const second = await fx.client.createProducer({ topic, producerName: 'seq-producer' });
    expect(second.lastSequenceId).toBe(6);
    await second.send({ payload: 'm7' });
    // an explicit, already-used sequence id is dropped by the broker's deduplication
    const dup = await second.send({ payload: 'dup', sequenceId: 3 });
    expect(dup.entryId).toBe(-1);
    const reader = await fx.client.createReader({ topic, startMessageId: MessageId.earliest });
    const texts: string[] = [];
    while (await reader.hasMessageAvailable()) texts.push((await reader.readNext(10_000)).text());
    expect(texts).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
  });
});
