/**
 * Consumer features against a real broker and bookie (standalone in this process): subscription
 * types, receive styles, individual/cumulative/batch-index acks, flow control.
 */
import { describe, expect, it } from 'vitest';
import type { Message } from '../../lib/client/index.ts';
import { eventually, sleep, take, uniqueTopic, useTestStandalone } from './helpers.ts';

const fx = useTestStandalone();

async function produce(
  topic: string,
  n: number,
  opts: { batching?: boolean; key?: (i: number) => string } = {},
): Promise<void> {
  const producer = await fx.client.createProducer({ topic, batchingEnabled: opts.batching ?? false });
  await Promise.all(
    Array.from({ length: n }, (_, i) => producer.send({ payload: `m${i}`, key: opts.key?.(i) })),
  );
  await producer.close();
}

const texts = (ms: Message[]) => ms.map((m) => m.text());

describe('consumer', { concurrent: false }, () => {
  it('Exclusive admits one consumer; a second gets CONSUMER_BUSY', async () => {
    const topic = uniqueTopic('excl');
    const first = await fx.client.subscribe({ topic, subscription: 's', subscriptionType: 'Exclusive' });
    await expect(
      fx.client.subscribe({ topic, subscription: 's', subscriptionType: 'Exclusive' }),
    ).rejects.toMatchObject({
      code: 'CONSUMER_BUSY',
    });
    await first.close();
  });

  it('Shared spreads messages over consumers, each delivered once', async () => {
    const topic = uniqueTopic('shared');
    const a = await fx.client.subscribe({
      topic,
      subscription: 's',
      subscriptionType: 'Shared',
      receiverQueueSize: 5,
    });
    const b = await fx.client.subscribe({
      topic,
      subscription: 's',
      subscriptionType: 'Shared',
      receiverQueueSize: 5,
    });
    await produce(topic, 40);
    const seen: string[] = [];
    const perConsumer = [0, 0];
    await eventually(async () => {
      for (const [i, c] of [a, b].entries()) {
        const got = await c.batchReceive();
        for (const m of got) {
          seen.push(m.text());
          c.ack(m);
          perConsumer[i]++;
        }
      }
      return seen.length >= 40;
    }, 'all 40 messages');
    expect(new Set(seen).size).toBe(40);
    expect(seen.length).toBe(40);
    expect(perConsumer[0]).toBeGreaterThan(0);
    expect(perConsumer[1]).toBeGreaterThan(0);
  });

  it('Failover delivers to the active consumer only, and to the other once it leaves', async () => {
    const topic = uniqueTopic('failover');
    const a = await fx.client.subscribe({
      topic,
      subscription: 's',
      subscriptionType: 'Failover',
      consumerName: 'a',
    });
    const b = await fx.client.subscribe({
      topic,
      subscription: 's',
      subscriptionType: 'Failover',
      consumerName: 'b',
    });
    await produce(topic, 5);
    const got = texts(await take(a, 5));
    expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    await expect(b.receive(300)).rejects.toMatchObject({ code: 'TIMEOUT' });
    await a.close();
    await produce(topic, 2);
    expect(texts(await take(b, 2))).toEqual(['m0', 'm1']);
  });

  it('Key_Shared keeps each key on one consumer, in order', async () => {
    const topic = uniqueTopic('keyshared');
    const consumers = await Promise.all(
      [0, 1].map(() => fx.client.subscribe({ topic, subscription: 's', subscriptionType: 'Key_Shared' })),
    );
    const producer = await fx.client.createProducer({ topic, batcherType: 'key-based' });
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        producer.send({ payload: `${keys[i % 6]}:${i}`, key: keys[i % 6] }),
      ),
    );
    const byConsumer: Map<string, number[]>[] = [new Map(), new Map()];
    let total = 0;
    await eventually(async () => {
      for (const [i, c] of consumers.entries()) {
        for (const m of await c.batchReceive()) {
          c.ack(m);
          total++;
          const list = byConsumer[i].get(m.key!) ?? [];
          list.push(Number(m.text().split(':')[1]));
          byConsumer[i].set(m.key!, list);
        }
      }
      return total >= 60;
    }, 'all keyed messages');
    for (const key of keys) {
      const owners = byConsumer.filter((m) => m.has(key));
      expect(owners).toHaveLength(1);
      const order = owners[0].get(key)!;
      expect(order).toEqual([...order].sort((x, y) => x - y));
      expect(order).toHaveLength(10);
    }
  });

  it('receives through receive, batchReceive, the async iterator and a listener', async () => {
    const topic = uniqueTopic('styles');
    const iter = await fx.client.subscribe({
      topic,
      subscription: 'iter',
      subscriptionInitialPosition: 'Earliest',
    });
    const batch = await fx.client.subscribe({
      topic,
      subscription: 'batch',
      batchReceivePolicy: { maxNumMessages: 4, timeoutMs: 2000 },
    });
    const heard: string[] = [];
    const listened = await fx.client.subscribe({
      topic,
      subscription: 'listener',
      listener: async (m, c) => {
        heard.push(m.text());
        c.ack(m);
      },
    });
    await produce(topic, 6, { batching: true });
    const fromIter: string[] = [];
    for await (const m of iter) {
      fromIter.push(m.text());
      iter.ack(m);
      if (fromIter.length === 6) break;
    }
    expect(fromIter).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    const first = await batch.batchReceive();
    expect(texts(first)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(texts(await batch.batchReceive())).toEqual(['m4', 'm5']);
    await eventually(() => heard.length === 6, 'listener');
    expect(heard).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    await expect(listened.receive()).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
  });

  it('keeps individual acks: a new consumer gets only what was not acknowledged', async () => {
    const topic = uniqueTopic('ackind');
    const c1 = await fx.client.subscribe({ topic, subscription: 's', ackGroupTimeMs: 0 });
    await produce(topic, 6);
    const got = await take(c1, 6, false);
    for (const i of [0, 2, 3]) c1.ack(got[i]);
    await c1.close();
    const c2 = await fx.client.subscribe({ topic, subscription: 's' });
    expect(texts(await take(c2, 3))).toEqual(['m1', 'm4', 'm5']);
    await c2.close();
  });

  it('acknowledge() with ack receipts resolves after the broker confirmed', async () => {
    const topic = uniqueTopic('receipts');
    const c = await fx.client.subscribe({ topic, subscription: 's', ackReceiptEnabled: true });
    await produce(topic, 2);
    const [m0, m1] = await take(c, 2, false);
    await c.acknowledge(m0);
    await c.acknowledge(m1);
    await c.close();
    const again = await fx.client.subscribe({ topic, subscription: 's' });
    await expect(again.receive(500)).rejects.toMatchObject({ code: 'TIMEOUT' });
    await again.close();
  });

  it('cumulative acks cover everything before; refused on Shared', async () => {
    const topic = uniqueTopic('ackcum');
    const c1 = await fx.client.subscribe({ topic, subscription: 's', subscriptionType: 'Failover' });
    await produce(topic, 6, { batching: true });
    const got = await take(c1, 6, false);
    c1.ackCumulative(got[5]);
    await c1.close();
    await produce(topic, 1);
    const c2 = await fx.client.subscribe({ topic, subscription: 's', subscriptionType: 'Failover' });
    expect(texts(await take(c2, 1))).toEqual(['m0']);
    await c2.close();
    const shared = await fx.client.subscribe({ topic, subscription: 'sh', subscriptionType: 'Shared' });
    await produce(topic, 1);
    const m = await shared.receive(10_000);
    expect(() => shared.ackCumulative(m)).toThrow(/NOT_SUPPORTED/);
  });

  it('batch-index acks: acking part of a batch leaves only the rest to redeliver', async () => {
    const topic = uniqueTopic('batchidx');
    const c1 = await fx.client.subscribe({
      topic,
      subscription: 's',
      batchIndexAckEnabled: true,
      ackGroupTimeMs: 0,
    });
    await produce(topic, 4, { batching: true });
    const got = await take(c1, 4, false);
    expect(new Set(got.map((m) => m.messageId.entryId)).size).toBe(1);
    c1.ack(got[0]);
    c1.ack(got[2]);
    await c1.flushAcks();
    await c1.close();
    const c2 = await fx.client.subscribe({ topic, subscription: 's', batchIndexAckEnabled: true });
    expect(texts(await take(c2, 2))).toEqual(['m1', 'm3']);
    await expect(c2.receive(300)).rejects.toMatchObject({ code: 'TIMEOUT' });
    await c2.close();
  });

  it('without batch-index acks a half-acked batch comes back whole', async () => {
    const topic = uniqueTopic('batchwhole');
    const c1 = await fx.client.subscribe({ topic, subscription: 's', ackGroupTimeMs: 0 });
    await produce(topic, 3, { batching: true });
    const got = await take(c1, 3, false);
    c1.ack(got[0]);
    await c1.close();
    const c2 = await fx.client.subscribe({ topic, subscription: 's' });
    expect(texts(await take(c2, 3))).toEqual(['m0', 'm1', 'm2']);
  });

  it('flow control: never more than receiverQueueSize messages wait in the client', async () => {
    const topic = uniqueTopic('flow');
    const c = await fx.client.subscribe({ topic, subscription: 's', receiverQueueSize: 5 });
    await produce(topic, 50, { batching: false });
    let received = 0;
    while (received < 50) {
      await sleep(received % 10 === 0 ? 50 : 0);
      expect(c.queuedMessages).toBeLessThanOrEqual(5);
      const m = await c.receive(10_000);
      c.ack(m);
      received++;
    }
    expect(received).toBe(50);
  });

  it('unsubscribe deletes the subscription', async () => {
    const topic = uniqueTopic('unsub');
    const c = await fx.client.subscribe({ topic, subscription: 'gone' });
    await produce(topic, 2);
    await c.unsubscribe();
    await produce(topic, 1);
    const again = await fx.client.subscribe({
      topic,
      subscription: 'gone',
      subscriptionInitialPosition: 'Latest',
    });
    await expect(again.receive(300)).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});
