/**
 * pulsar-protocol.md §6 conformance, part 2: pulsar-flex 1.1.1 acknowledgements, negative acks
 * and reconnects against a broker with persistent topics on a real bookie.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Consumer, type FlexConsumer, type FlexMessage, until, useFlexBroker } from './flex.ts';
import { sleep } from './harness.ts';

const fx = useFlexBroker({ activeConsumerFailoverDelayMs: 0 });

const topic = () => `persistent://public/default/cf-r-${randomBytes(4).toString('hex')}`;
const text = (m: FlexMessage) => m.message.toString();

async function send(t: string, payloads: string[]): Promise<void> {
  const p = fx.pool.producer(t);
  await p.create();
  for (const x of payloads) await p.sendMessage({ payload: x });
}

/**
 * Run `c` with manual acks: the first delivery is negatively acknowledged, every later one
 * acknowledged. `seen` gets each delivery first (`isTheNacked` is true for the one nacked).
 */
async function runNackingFirst(
  c: FlexConsumer,
  seen: (m: FlexMessage, isTheNacked: boolean) => unknown,
): Promise<void> {
  let nacked = false;
  await c.run({
    autoAck: false,
    onMessage: async (m) => {
      const isTheNacked = !nacked;
      nacked = true;
      seen(m, isTheNacked);
      if (isTheNacked) await m.ack({ type: Consumer.ACK_TYPES.NEGATIVE });
      else await m.ack();
    },
  });
}

describe('pulsar-flex conformance (acks and redelivery)', { concurrent: false }, () => {
  it('9: an individual ack persists across unsubscribe/subscribe; the next message comes back', async () => {
    const t = topic();
    const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.EXCLUSIVE);
    await c.subscribe();
    const got: FlexMessage[] = [];
    await c.run({ autoAck: false, onMessage: (m) => void got.push(m) });
    await send(t, ['m1', 'm2']);
    await until(() => got.length === 2, 'two messages');
    await got[0].ack();
    await c.unsubscribe();
    const again: string[] = [];
    await c.subscribe();
    await c.run({ autoAck: false, onMessage: (m) => void again.push(text(m)) });
    await until(() => again.length >= 1, 'redelivery');
    await sleep(300);
    expect(again).toEqual(['m2']);
  });

  it('10: an unacked message comes back after close', async () => {
    const t = topic();
    const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.EXCLUSIVE);
    await c.subscribe();
    const got: string[] = [];
    await c.run({ autoAck: false, onMessage: (m) => void got.push(text(m)) });
    await send(t, ['only']);
    await until(() => got.length === 1, 'first delivery');
    await c.unsubscribe();
    await c.subscribe();
    await c.run({ autoAck: false, onMessage: (m) => void got.push(text(m)) });
    await until(() => got.length === 2, 'redelivery');
    expect(got).toEqual(['only', 'only']);
  });

  it('11: a cumulative ack on Exclusive acks everything up to it', async () => {
    const t = topic();
    const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.EXCLUSIVE);
    await c.subscribe();
    const got: FlexMessage[] = [];
    await c.run({ autoAck: false, onMessage: (m) => void got.push(m) });
    await send(t, ['1', '2', '3', '4', '5', '6']);
    await until(() => got.length === 6, 'six messages');
    await got[2].ack({ type: Consumer.ACK_TYPES.CUMULATIVE });
    await c.unsubscribe();
    const again: string[] = [];
    await c.subscribe();
    await c.run({ autoAck: false, onMessage: (m) => void again.push(text(m)) });
    await until(() => again.length === 3, 'the last three');
    expect(again).toEqual(['4', '5', '6']);
  });

  for (const [name, subType] of [
    ['Exclusive', Consumer.SUB_TYPES.EXCLUSIVE],
    ['Failover', Consumer.SUB_TYPES.FAILOVER],
  ] as const) {
    it(`12: a negative ack on ${name} redelivers from the first unacked message`, async () => {
      const t = topic();
      const c = fx.pool.consumer(t, 's', subType);
      await c.subscribe();
      const order: string[] = [];
      await runNackingFirst(c, (m) => order.push(text(m)));
      await send(t, ['first', 'second', 'third']);
      await until(() => order.length === 4, 'four deliveries');
      expect(order).toEqual(['first', 'first', 'second', 'third']);
    });
  }

  it('13: a negative ack on Shared redelivers that message last, with redelivery count 1', async () => {
    const t = topic();
    const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.SHARED);
    await c.subscribe();
    const order: [string, number][] = [];
    await runNackingFirst(c, (m) => order.push([text(m), m.redeliveryCount]));
    await send(t, ['first', 'second', 'third']);
    await until(() => order.length === 4, 'four deliveries');
    expect(order).toEqual([
      ['first', 0],
      ['second', 0],
      ['third', 0],
      ['first', 1],
    ]);
  });

  it('14: a negative ack in a batch on Shared with priority redelivers the batch first', async () => {
    const t = topic();
    const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.SHARED, { prioritizeUnacknowledgedMessages: true });
    await c.subscribe();
    const acked: string[] = [];
    await runNackingFirst(c, (m, isTheNacked) => isTheNacked || acked.push(text(m)));
    const p = fx.pool.producer(t);
    await p.create();
    await p.sendBatch({ messages: [{ payload: 'first' }, { payload: 'second' }, { payload: 'third' }] });
    await until(() => acked.length === 5, 'five acks');
    expect(acked).toEqual(['first', 'second', 'third', 'second', 'third']);
  });

  it('17: a consumer closed by the broker reconnects and loses nothing', async () => {
    const t = topic();
    const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.SHARED);
    const states: string[] = [];
    c.onStateChange(({ newState }) => states.push(newState));
    await c.subscribe();
    const got = new Set<string>();
    await c.run({ onMessage: (m) => void got.add(text(m)) });
    await send(t, ['a', 'b', 'c']);
    await until(() => got.size === 3, 'first three');
    await fx.broker.service.unloadTopic(t);
    await until(
      () => states.includes('RECONNECTING') && states[states.length - 1] === 'ACTIVE',
      'reconnected',
    );
    await send(t, ['d', 'e']);
    await until(() => got.size === 5, 'all five');
    expect(states).toContain('RECONNECTING');
  });

  it('18: a consumer whose socket dropped reconnects and gets its unacked messages again', async () => {
    const t = topic();
    const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.EXCLUSIVE);
    const states: string[] = [];
    c.onStateChange(({ newState }) => states.push(newState));
    await c.subscribe();
    const got: string[] = [];
    await c.run({ autoAck: false, onMessage: (m) => void got.push(text(m)) });
    await send(t, ['x']);
    await until(() => got.length === 1, 'first delivery');
    c._client.getCnx()?.close();
    await until(() => got.length === 2, 'redelivery after reconnect');
    expect(got).toEqual(['x', 'x']);
    expect(states).toContain('RECONNECTING');
  });

  it('19: a producer whose socket dropped reconnects and its next send arrives', async () => {
    const t = topic();
    const c = fx.pool.consumer(t, 's', Consumer.SUB_TYPES.EXCLUSIVE);
    await c.subscribe();
    const got: string[] = [];
    await c.run({ onMessage: (m) => void got.push(text(m)) });
    const p = fx.pool.producer(t);
    await p.create();
    await p.sendMessage({ payload: 'before-drop' });
    p._client.getCnx()?.close();
    await p.sendMessage({ payload: 'after-drop' });
    await until(() => got.includes('after-drop'), 'message sent after the drop');
    expect(got).toContain('before-drop');
  });
});
