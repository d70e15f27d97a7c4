/**
 * pulsar-protocol.md §6 conformance, part 1: pulsar-flex 1.1.1 (npm, unmodified) against a broker
 * with persistent topics on a real bookie: connect/lookup, names, sends and batches, the four
 * subscription types, flow control, ack responses, exclusive producers, keep-alive, JWT.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthenticationService, defaultAuthConfig } from '../../lib/auth/index.ts';
import { loadSecretKey } from '../../lib/auth/keys.ts';
import { createToken } from '../../lib/auth/tokens.ts';
import { createMetrics } from '../../lib/metrics/index.ts';
import { Consumer, FlexPool, type FlexMessage, Producer, until, useFlexBroker } from './flex.ts';
import { sleep, startTestBroker } from './harness.ts';

const metrics = createMetrics('broker', 'flex', false);
const fx = useFlexBroker({ keepAliveIntervalMs: 1_000 }, { metrics });

let n = 0;
const topic = () => `persistent://public/default/cf-${++n}-${randomBytes(3).toString('hex')}`;

async function commandCounts(): Promise<Record<string, number>> {
  const m = await metrics.registry.getSingleMetric('magnetar_broker_commands_total')!.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.type), v.value]));
}

describe('pulsar-flex conformance (basic)', { concurrent: false }, () => {
  it('1: connect, lookup, create and close a producer', async () => {
    const before = await commandCounts();
    const p = fx.pool.producer(topic());
    await p.create();
    await p.close();
    const after = await commandCounts();
    const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    expect([delta('CONNECT'), delta('LOOKUP'), delta('PRODUCER'), delta('CLOSE_PRODUCER')]).toEqual([
      2, 1, 1, 1,
    ]);
  });

  it('2+3: short and full names are one topic; properties and redelivery count arrive', async () => {
    const local = `cf-short-${randomBytes(3).toString('hex')}`;
    const c = fx.pool.consumer(`persistent://public/default/${local}`, 's', Consumer.SUB_TYPES.EXCLUSIVE);
    await c.subscribe();
    const got: FlexMessage[] = [];
    await c.run({ onMessage: (m) => void got.push(m) });
    const p = fx.pool.producer(`public/default/${local}`);
    await p.create();
    await p.sendMessage({ payload: 'hello', properties: { a: '1' } });
    await until(() => got.length === 1, 'the message');
    expect(got[0].message.toString()).toBe('hello');
    expect(got[0].properties).toEqual({ a: '1' });
    expect(got[0].redeliveryCount).toBe(0);
  });

  it('4: a batch arrives as its messages with their own properties and one message id', async () => {
    const t = topic();
    const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.EXCLUSIVE);
    await c.subscribe();
    const got: FlexMessage[] = [];
    await c.run({ onMessage: (m) => void got.push(m) });
    const p = fx.pool.producer(t);
    await p.create();
    await p.sendBatch({ messages: [{ payload: 'b1', properties: { k: 'x' } }, { payload: 'b2' }] });
    await until(() => got.length === 2, 'both batch members');
    expect(got.map((m) => m.message.toString())).toEqual(['b1', 'b2']);
    expect(got.map((m) => m.properties)).toEqual([{ k: 'x' }, {}]);
    expect(got[0].command.messageId).toEqual(got[1].command.messageId);
  });

  it('5: a second Exclusive consumer is refused', async () => {
    const t = topic();
    await fx.pool.consumer(t, 's', Consumer.SUB_TYPES.EXCLUSIVE).subscribe();
    await expect(fx.pool.consumer(t, 's', Consumer.SUB_TYPES.EXCLUSIVE).subscribe()).rejects.toThrow();
  });

  it('6: Shared spreads messages over both consumers, each exactly once', async () => {
    const t = topic();
    const got: string[][] = [[], []];
    for (const i of [0, 1]) {
      const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.SHARED, { receiveQueueSize: 2 });
      await c.subscribe();
      await c.run({ onMessage: (m) => void got[i].push(m.message.toString()) });
    }
    const p = fx.pool.producer(t);
    await p.create();
    for (let i = 0; i < 10; i++) await p.sendMessage({ payload: `m${i}` });
    await until(() => got[0].length + got[1].length === 10, 'ten messages');
    expect([...got[0], ...got[1]].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
    expect(got[0].length).toBeGreaterThan(0);
    expect(got[1].length).toBeGreaterThan(0);
  });

  it('7: Failover delivers to one consumer; its unacked messages move to the other when it leaves', async () => {
    const t = topic();
    const a = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.FAILOVER, { consumerName: 'a' });
    const b = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.FAILOVER, { consumerName: 'b' });
    await a.subscribe();
    await b.subscribe();
    const gotA: string[] = [];
    const gotB: string[] = [];
    await b.run({ onMessage: (m) => void gotB.push(m.message.toString()) });
    await a.run({
      autoAck: false,
      onMessage: async (m) => {
        gotA.push(m.message.toString());
        if (gotA.length === 1) {
          await m.ack();
          void a.unsubscribe();
        }
      },
    });
    const p = fx.pool.producer(t);
    await p.create();
    for (const x of ['one', 'two', 'three']) await p.sendMessage({ payload: x });
    await until(() => gotB.length >= 2, 'the rest at b');
    expect(gotA[0]).toBe('one');
    expect(gotB).toEqual(['two', 'three']);
  });

  it('8: Key_Shared delivers every key-less message exactly once', async () => {
    const t = topic();
    const got: string[] = [];
    for (let i = 0; i < 2; i++) {
      const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.KEY_SHARED);
      await c.subscribe();
      await c.run({ onMessage: (m) => void got.push(m.message.toString()) });
    }
    const p = fx.pool.producer(t);
    await p.create();
    for (let i = 0; i < 10; i++) await p.sendMessage({ payload: `k${i}` });
    await until(() => got.length === 10, 'ten messages');
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
  });

  it('15: flow control keeps the client queue within its size, nothing dropped', async () => {
    const t = topic();
    const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.EXCLUSIVE, { receiveQueueSize: 4 });
    await c.subscribe();
    const got: string[] = [];
    let maxQueue = 0;
    await c.run({
      onMessage: async (m) => {
        maxQueue = Math.max(maxQueue, c._receiveQueue.length());
        got.push(m.message.toString());
        await sleep(10);
      },
    });
    const p = fx.pool.producer(t);
    await p.create();
    for (let i = 0; i < 20; i++) await p.sendMessage({ payload: `f${i}` });
    await until(() => got.length === 20, 'twenty messages');
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `f${i}`));
    expect(maxQueue).toBeLessThanOrEqual(4);
  });

  it('16: autoAck consumers progress (every ACK is answered)', async () => {
    const t = topic();
    const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.SHARED);
    await c.subscribe();
    const got: string[] = [];
    await c.run({ onMessage: (m) => void got.push(m.message.toString()) });
    const p = fx.pool.producer(t);
    await p.create();
    for (const x of ['x', 'y', 'z']) await p.sendMessage({ payload: x });
    await until(() => got.length === 3, 'three messages', 5_000);
    expect(got).toEqual(['x', 'y', 'z']);
  });

  it('20: a second Exclusive producer is refused', async () => {
    const t = topic();
    await fx.pool.producer(t, { producerAccessMode: Producer.ACCESS_MODES.EXCLUSIVE }).create();
    await expect(
      fx.pool.producer(t, { producerAccessMode: Producer.ACCESS_MODES.EXCLUSIVE }).create(),
    ).rejects.toThrow();
  });

  it('21: the broker pings idle clients; pulsar-flex answers and stays connected', async () => {
    const t = topic();
    const before = await commandCounts();
    const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.EXCLUSIVE);
    await c.subscribe();
    const got: string[] = [];
    await c.run({ onMessage: (m) => void got.push(m.message.toString()) });
    await sleep(3_500);
    const after = await commandCounts();
    expect((after.PONG ?? 0) - (before.PONG ?? 0)).toBeGreaterThan(0);
    const p = fx.pool.producer(t);
    await p.create();
    await p.sendMessage({ payload: 'still here' });
    await until(() => got.length === 1, 'message after idle period');
  });
});

describe('pulsar-flex JWT (22)', () => {
  it('connects with a valid token and is refused with a bad one', async () => {
    const secret = `data:;base64,${randomBytes(32).toString('base64')}`;
    const authn = new AuthenticationService(
      defaultAuthConfig({ authenticationEnabled: true, tokenSecretKey: secret }),
    );
    const b = await startTestBroker({}, { authenticator: authn.roleAuthenticator() });
    const p = new FlexPool(b.brokerServicePort);
    try {
      const good = await createToken({ key: loadSecretKey(secret), subject: 'alice' });
      const t = `non-persistent://public/default/jwt-${randomBytes(3).toString('hex')}`;
      await p.producer(t, { jwt: good }).create();
      const bad = await createToken({
        key: loadSecretKey(`data:;base64,${randomBytes(32).toString('base64')}`),
        subject: 'mallory',
      });
      await expect(p.producer(t, { jwt: bad }).create()).rejects.toThrow();
    } finally {
      await p.closeAll();
      await b.close();
    }
  });
});
