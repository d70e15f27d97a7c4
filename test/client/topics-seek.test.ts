/**
 * Multi-topic and pattern subscriptions, seek by message id and by time, and the Reader API
 * against a real broker.
 */
import { describe, expect, it } from 'vitest';
import type { MessageId } from '../../lib/client/index.ts';
import { MessageId as Id } from '../../lib/client/index.ts';
import { eventually, sleep, take, uniqueTopic, unloadTopic, useTestStandalone } from './helpers.ts';

const fx = useTestStandalone();

async function produce(topic: string, payloads: string[], batching = false): Promise<MessageId[]> {
  const producer = await fx.client.createProducer({ topic, batchingEnabled: batching });
  const ids = await Promise.all(payloads.map((p) => producer.send({ payload: p })));
  await producer.close();
  return ids;
}

describe('topics, seek and readers', { concurrent: false }, () => {
  it('consumes several topics through one consumer and routes acks back by topic', async () => {
    const [a, b] = [uniqueTopic('multi-a'), uniqueTopic('multi-b')];
    const c = await fx.client.subscribe({ topics: [a, b], subscription: 's', ackGroupTimeMs: 0 });
    await produce(a, ['a0', 'a1']);
    await produce(b, ['b0']);
    const got = await take(c, 3);
    expect(got.map((m) => m.text()).sort()).toEqual(['a0', 'a1', 'b0']);
    expect(new Set(got.map((m) => m.topic))).toEqual(new Set([a, b]));
    await c.close();
    const again = await fx.client.subscribe({ topics: [a, b], subscription: 's' });
    await expect(again.receive(300)).rejects.toMatchObject({ code: 'TIMEOUT' });
    await again.close();
  });

  it('subscribes by pattern, including topics created later', async () => {
    const tag = `pat${Date.now().toString(36)}`;
    const t1 = `persistent://public/default/${tag}-one`;
    const other = `persistent://public/default/x${tag}-other`;
    await produce(t1, ['before']);
    await produce(other, ['not matched']);
    const c = await fx.client.subscribe({
      topicsPattern: `public/default/${tag}-.*`,
      subscription: 's',
      subscriptionInitialPosition: 'Earliest',
      patternAutoDiscoveryPeriodMs: 200,
    });
    expect(c.topics).toEqual([t1]);
    expect((await take(c, 1))[0].text()).toBe('before');
    const t2 = `persistent://public/default/${tag}-two`;
    await produce(t2, ['created']);
    await eventually(() => c.topics.includes(t2), 'pattern discovery of the new topic');
    await produce(t2, ['after discovery']);
    const later = await take(c, 1);
    expect(['created', 'after discovery']).toContain(later[0].text());
    expect(later[0].topic).toBe(t2);
  });

  it('seeks a durable subscription to a message id and to a publish time', async () => {
    const topic = uniqueTopic('seek');
    const c = await fx.client.subscribe({ topic, subscription: 's' });
    const ids = await produce(topic, ['m0', 'm1', 'm2']);
    await sleep(50);
    const middle = Date.now();
    await sleep(50);
    await produce(topic, ['m3', 'm4']);
    expect((await take(c, 5)).map((m) => m.text())).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    await c.seek(ids[1]);
    await eventually(() => c.isConnected(), 'reconnect after seek');
    expect((await take(c, 4)).map((m) => m.text())).toEqual(['m1', 'm2', 'm3', 'm4']);
    await c.seek(middle);
    await eventually(() => c.isConnected(), 'reconnect after seek');
    expect((await take(c, 2)).map((m) => m.text())).toEqual(['m3', 'm4']);
  });

  it('reads from earliest, latest, and an id (exclusive or inclusive), also inside a batch', async () => {
    const topic = uniqueTopic('reader');
    const plain = await produce(topic, ['p0', 'p1', 'p2']);
    const batched = await produce(topic, ['b0', 'b1', 'b2'], true);
    const readAll = async (start: Id, inclusive = false, n = 6) => {
      const r = await fx.client.createReader({
        topic,
        startMessageId: start,
        startMessageIdInclusive: inclusive,
      });
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push((await r.readNext(10_000)).text());
      await expect(r.readNext(200)).rejects.toMatchObject({ code: 'TIMEOUT' });
      await r.close();
      return out;
    };
    expect(await readAll(Id.earliest)).toEqual(['p0', 'p1', 'p2', 'b0', 'b1', 'b2']);
    expect(await readAll(plain[1], false, 4)).toEqual(['p2', 'b0', 'b1', 'b2']);
    expect(await readAll(plain[1], true, 5)).toEqual(['p1', 'p2', 'b0', 'b1', 'b2']);
    expect(batched[1].isBatch()).toBe(true);
    expect(await readAll(batched[1], false, 1)).toEqual(['b2']);
    expect(await readAll(batched[1], true, 2)).toEqual(['b1', 'b2']);
    const latest = await fx.client.createReader({ topic, startMessageId: Id.latest });
    expect(await latest.hasMessageAvailable()).toBe(false);
    await produce(topic, ['new']);
    expect((await latest.readNext(10_000)).text()).toBe('new');
    await latest.close();
  });

  it('hasMessageAvailable walks a topic to its end; a reader resumes after a reconnect', async () => {
    const topic = uniqueTopic('walk');
    await produce(topic, ['w0', 'w1', 'w2', 'w3']);
    const r = await fx.client.createReader({ topic, startMessageId: Id.earliest, receiverQueueSize: 1 });
    const seen: string[] = [];
    seen.push((await r.readNext(10_000)).text());
    seen.push((await r.readNext(10_000)).text());
    await unloadTopic(fx.tc.standalone.adminUrl, topic);
    while (await r.hasMessageAvailable()) seen.push((await r.readNext(10_000)).text());
    expect(seen).toEqual(['w0', 'w1', 'w2', 'w3']);
    await r.close();
  });

  it('a reader seeks by id', async () => {
    const topic = uniqueTopic('readerseek');
    const ids = await produce(topic, ['s0', 's1', 's2']);
    const r = await fx.client.createReader({ topic, startMessageId: Id.earliest });
    expect((await r.readNext(10_000)).text()).toBe('s0');
    await r.seek(ids[2]);
    expect((await r.readNext(10_000)).text()).toBe('s2');
    await r.close();
  });
});
