/**
 * Redelivery paths against a real broker: negative acks with a delay, ack timeouts, the
 * dead-letter topic after maxRedeliverCount, retry-letter topics with reconsumeLater, and
 * redeliver-all for Exclusive subscriptions.
 */
import { describe, expect, it } from 'vitest';
import type { Consumer, Message } from '../../lib/client/index.ts';
import { MessageId } from '../../lib/client/index.ts';
import { uniqueTopic, useTestStandalone } from './helpers.ts';

const fx = useTestStandalone();

async function produce(
  topic: string,
  payloads: string[],
  properties?: Record<string, string>,
): Promise<void> {
  const producer = await fx.client.createProducer({ topic, batchingEnabled: false });
  for (const p of payloads) await producer.send({ payload: p, key: `key-${p}`, properties });
  await producer.close();
}

async function next(consumer: Consumer): Promise<Message> {
  return consumer.receive(15_000);
}

describe('redelivery', { concurrent: false }, () => {
  it('a nacked message comes back after the delay with a higher redelivery count (Shared)', async () => {
    const topic = uniqueTopic('nack');
    const c = await fx.client.subscribe({
      topic,
      subscription: 's',
      subscriptionType: 'Shared',
      negativeAckRedeliveryDelayMs: 300,
    });
    await produce(topic, ['first', 'second']);
    const first = await next(c);
    expect(first.redeliveryCount).toBe(0);
    const nackedAt = Date.now();
    c.nack(first);
    const second = await next(c);
    expect(second.text()).toBe('second');
    c.ack(second);
    const again = await next(c);
    expect(again.text()).toBe('first');
    expect(again.redeliveryCount).toBe(1);
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(300);
    c.ack(again);
  });

  it('an unacknowledged message is redelivered after the ack timeout', async () => {
    const topic = uniqueTopic('acktimeout');
    const c = await fx.client.subscribe({
      topic,
      subscription: 's',
      subscriptionType: 'Shared',
      ackTimeoutMs: 1000,
      ackTimeoutTickMs: 100,
    });
    await produce(topic, ['slow', 'fast']);
    const slow = await next(c);
    const fast = await next(c);
    c.ack(fast);
    const again = await next(c);
    expect(again.text()).toBe(slow.text());
    expect(again.redeliveryCount).toBe(1);
    c.ack(again);
  });

  it('Exclusive: a nack rewinds to the first unacked message', async () => {
    const topic = uniqueTopic('nackexcl');
    const c = await fx.client.subscribe({ topic, subscription: 's', negativeAckRedeliveryDelayMs: 100 });
    await produce(topic, ['first', 'second', 'third']);
    const first = await next(c);
    c.nack(first);
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await next(c);
      order.push(m.text());
      c.ack(m);
    }
    // "second" and "third" may already have been prefetched; the redelivery brings back all unacked
    expect(order.filter((t) => t === 'first')).toHaveLength(1);
    expect(new Set(order)).toEqual(new Set(['first', 'second', 'third']));
  });

  it('routes a message to <topic>-<sub>-DLQ after maxRedeliverCount redeliveries, then stops redelivering it', async () => {
    const topic = uniqueTopic('dlq');
    const dlqTopic = `${topic}-s-DLQ`;
    const dlq = await fx.client.subscribe({ topic: dlqTopic, subscription: 'inspect' });
    const c = await fx.client.subscribe({
      topic,
      subscription: 's',
      subscriptionType: 'Shared',
      negativeAckRedeliveryDelayMs: 100,
      deadLetterPolicy: { maxRedeliverCount: 2 },
    });
    await produce(topic, ['poison'], { origin: 'test' });
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await next(c);
      counts.push(m.redeliveryCount);
      c.nack(m);
    }
    expect(counts).toEqual([0, 1, 2]);
    const dead = await next(dlq);
    expect(dead.text()).toBe('poison');
    expect(dead.key).toBe('key-poison');
    expect(dead.properties.origin).toBe('test');
    expect(dead.properties.REAL_TOPIC).toBe(topic);
    expect(MessageId.fromString(dead.properties.ORIGIN_MESSAGE_ID).entryId).toBeGreaterThanOrEqual(0);
    dlq.ack(dead);
    await expect(c.receive(800)).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('reconsumeLater goes through <topic>-<sub>-RETRY with RECONSUMETIMES, then to the DLQ', async () => {
    const topic = uniqueTopic('retry');
    const dlq = await fx.client.subscribe({ topic: `${topic}-r-DLQ`, subscription: 'inspect' });
    const c = await fx.client.subscribe({
      topic,
      subscription: 'r',
      subscriptionType: 'Shared',
      retryEnabled: true,
      deadLetterPolicy: { maxRedeliverCount: 2 },
    });
    expect(c.topics).toContain(`${topic}-r-RETRY`);
    await produce(topic, ['job']);
    const seen: { topic: string; times: string | undefined }[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await next(c);
      seen.push({ topic: m.topic, times: m.properties.RECONSUMETIMES });
      await c.reconsumeLater(m, 200, { attempt: String(i) });
    }
    expect(seen).toEqual([
      { topic, times: undefined },
      { topic: `${topic}-r-RETRY`, times: '1' },
      { topic: `${topic}-r-RETRY`, times: '2' },
    ]);
    const dead = await next(dlq);
    expect(dead.text()).toBe('job');
    expect(dead.properties).toMatchObject({
      RECONSUMETIMES: '3',
      REAL_TOPIC: topic,
      attempt: '2',
      DELAY_TIME: '200',
    });
  });

  it('redeliverUnacknowledgedMessages brings back everything not acked', async () => {
    const topic = uniqueTopic('redeliverall');
    const c = await fx.client.subscribe({ topic, subscription: 's' });
    await produce(topic, ['a', 'b', 'c']);
    const a = await next(c);
    c.ack(a);
    await next(c);
    c.redeliverUnacknowledgedMessages();
    const back = [await next(c), await next(c)].map((m) => m.text());
    expect(back).toEqual(['b', 'c']);
  });
});
