/**
 * Less common modes against a real broker: producer access modes (Exclusive,
 * WaitForExclusive), Key_Shared STICKY hash ranges, and partition counts growing under live
 * producers and consumers.
 */
import { describe, expect, it } from 'vitest';
import { keySharedSlot } from '../../lib/wire/hash.ts';
import { createPartitionedTopic, eventually, uniqueTopic, useTestStandalone } from './helpers.ts';

const fx = useTestStandalone();

describe('modes', { concurrent: false }, () => {
  it('an Exclusive producer keeps others out; WaitForExclusive waits for its turn', async () => {
    const topic = uniqueTopic('access');
    const first = await fx.client.createProducer({ topic, accessMode: 'Exclusive' });
    const refused = await fx.client
      .createProducer({ topic, accessMode: 'Exclusive' })
      .catch((e: unknown) => e);
    expect((refused as { code?: string }).code).toMatch(/PRODUCER_FENCED|PRODUCER_BUSY/);
    let ready = false;
    const waiting = fx.client.createProducer({ topic, accessMode: 'WaitForExclusive' }).then((p) => {
      ready = true;
      return p;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(ready).toBe(false);
    await first.send({ payload: 'from the first' });
    await first.close();
    const second = await waiting;
    const id = await second.send({ payload: 'from the second' });
    expect(id.entryId).toBeGreaterThanOrEqual(0);
  });

  it('Key_Shared STICKY: each consumer gets exactly the keys whose slot is in its ranges', async () => {
    const topic = uniqueTopic('sticky');
    const low = await fx.client.subscribe({
      topic,
      subscription: 's',
      subscriptionType: 'Key_Shared',
      keySharedPolicy: { mode: 'STICKY', hashRanges: [[0, 32767]] },
    });
    const high = await fx.client.subscribe({
      topic,
      subscription: 's',
      subscriptionType: 'Key_Shared',
      keySharedPolicy: { mode: 'STICKY', hashRanges: [[32768, 65535]] },
    });
    const producer = await fx.client.createProducer({ topic, batchingEnabled: false });
    const keys = Array.from({ length: 16 }, (_, i) => `key-${i}`);
    for (const key of keys) await producer.send({ payload: key, key });
    const got = new Map<string, 'low' | 'high'>();
    await eventually(async () => {
      for (const [name, c] of [
        ['low', low],
        ['high', high],
      ] as const) {
        for (const m of await c.batchReceive()) {
          got.set(m.key!, name);
          c.ack(m);
        }
      }
      return got.size === keys.length;
    }, 'all keys');
    for (const key of keys) {
      expect(got.get(key), key).toBe(keySharedSlot(Buffer.from(key)) <= 32767 ? 'low' : 'high');
    }
  });

  it('producers and consumers pick up partitions added to a partitioned topic', async () => {
    const topic = uniqueTopic('grow');
    await createPartitionedTopic(fx.tc.standalone.adminUrl, topic, 2);
    const consumer = await fx.client.subscribe({
      topic,
      subscription: 's',
      autoUpdatePartitionsIntervalMs: 200,
    });
    const producer = await fx.client.createProducer({
      topic,
      autoUpdatePartitionsIntervalMs: 200,
      batchingEnabled: false,
    });
    expect(producer.numPartitions).toBe(2);
    const path = topic.replace('persistent://', 'persistent/');
    const res = await fetch(`${fx.tc.standalone.adminUrl}/admin/v2/${path}/partitions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(4),
    });
    expect(res.status).toBeLessThan(300);
    await eventually(() => producer.numPartitions === 4 && consumer.topics.length === 4, 'partition updates');
    const ids = await Promise.all(Array.from({ length: 16 }, (_, i) => producer.send({ payload: `m${i}` })));
    expect(new Set(ids.map((id) => id.partition))).toEqual(new Set([0, 1, 2, 3]));
    const seen = new Set<string>();
    while (seen.size < 16) {
      const m = await consumer.receive(10_000);
      seen.add(m.text());
      consumer.ack(m);
    }
  });
});
