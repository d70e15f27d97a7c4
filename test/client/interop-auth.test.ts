/**
 * Interoperability with pulsar-flex (a real third-party client, uncompressed only: it cannot
 * decompress) in both directions, and token authentication on CONNECT.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecretKey } from '../../lib/auth/keys.ts';
import { createToken } from '../../lib/auth/tokens.ts';
import type { PulsarClient } from '../../lib/client/index.ts';
import { Consumer as FlexConsumerClass, type FlexMessage, FlexPool } from '../broker/flex.ts';
import { eventually, startTestStandalone, type TestCluster, uniqueTopic } from './helpers.ts';

describe('interop with pulsar-flex', { concurrent: false }, () => {
  let tc: TestCluster;
  let client: PulsarClient;
  let flex: FlexPool;

  beforeAll(async () => {
    tc = await startTestStandalone();
    client = tc.client();
    flex = new FlexPool(tc.standalone.broker.brokerServicePort);
  });

  afterAll(async () => {
    await flex?.closeAll?.();
    await tc?.stop();
  });

  it('our consumer reads what pulsar-flex sends (single and batch)', async () => {
    const topic = uniqueTopic('flex-in');
    const consumer = await client.subscribe({ topic, subscription: 's' });
    const producer = flex.producer(topic);
    await producer.create();
    await producer.sendMessage({ payload: 'single', properties: { a: '1' } });
    await producer.sendBatch({ messages: [{ payload: 'b1', properties: { k: 'x' } }, { payload: 'b2' }] });
    const got = [];
    for (let i = 0; i < 3; i++) {
      const m = await consumer.receive(10_000);
      consumer.ack(m);
      got.push({ text: m.text(), props: m.properties, batch: m.messageId.batchIndex });
    }
    expect(got).toEqual([
      { text: 'single', props: { a: '1' }, batch: -1 },
      { text: 'b1', props: { k: 'x' }, batch: 0 },
      { text: 'b2', props: {}, batch: 1 },
    ]);
  });

  it('pulsar-flex reads what our producer sends (batched and not, with properties)', async () => {
    const topic = uniqueTopic('flex-out');
    const received: { text: string; props: Record<string, string> }[] = [];
    const fc = flex.consumer(topic, 'f', FlexConsumerClass.SUB_TYPES.EXCLUSIVE, { receiveQueueSize: 100 });
    await fc.subscribe();
    void fc.run({
      autoAck: true,
      onMessage: (m: FlexMessage) => {
        received.push({ text: m.message.toString(), props: m.properties });
      },
    });
    const batched = await client.createProducer({ topic, batchingMaxPublishDelayMs: 50 });
    const single = await client.createProducer({ topic, batchingEnabled: false });
    await Promise.all([
      batched.send({ payload: 'x1', properties: { n: '1' } }),
      batched.send({ payload: 'x2' }),
    ]);
    await single.send({ payload: 'solo', properties: { n: '3' } });
    await eventually(() => received.length >= 3, 'pulsar-flex received 3 messages');
    expect(received).toEqual([
      { text: 'x1', props: { n: '1' } },
      { text: 'x2', props: {} },
      { text: 'solo', props: { n: '3' } },
    ]);
  });
});

describe('token authentication', { concurrent: false }, () => {
  let tc: TestCluster;
  const secret = `base64:${randomBytes(32).toString('base64')}`;

  beforeAll(async () => {
    tc = await startTestStandalone({ authenticationEnabled: true, tokenSecretKey: secret });
  });

  afterAll(async () => {
    await tc?.stop();
  });

  it('connects with a valid token (static or from a function) and is refused without one', async () => {
    const key = loadSecretKey(secret);
    const token = await createToken({ subject: 'app', key });
    const topic = uniqueTopic('auth');
    const ok = tc.client({ authentication: { token } });
    const producer = await ok.createProducer({ topic });
    await producer.send({ payload: 'authorised' });
    const viaFunction = tc.client({ authentication: { token: async () => token } });
    const consumer = await viaFunction.subscribe({
      topic,
      subscription: 's',
      subscriptionInitialPosition: 'Earliest',
    });
    expect((await consumer.receive(10_000)).text()).toBe('authorised');

    const none = tc.client({ operationTimeoutMs: 3000 });
    await expect(none.createProducer({ topic })).rejects.toMatchObject({ code: 'AUTHENTICATION_FAILED' });
    const forged = await createToken({
      subject: 'app',
      key: loadSecretKey(`base64:${randomBytes(32).toString('base64')}`),
    });
    const bad = tc.client({ authentication: { token: forged }, operationTimeoutMs: 3000 });
    await expect(bad.createProducer({ topic })).rejects.toMatchObject({ code: 'AUTHENTICATION_FAILED' });
  });
});
