/**
 * Publish, dispatch and subscribe rates enforced end to end (real etcd, a real bookie process, an
 * in-process broker on lib/policies). Rates are proven without timing the broker's speed: every
 * message still arrives (throttling never drops), the limiter recorded that it held the excess
 * back, and the excess could not have gone faster than the bucket refills (a lower bound on the
 * elapsed time, which a slow machine only makes longer).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ServerError } from '../../lib/wire/protocol.ts';
import { stopAll } from '../harness/index.ts';
import { eventually } from './harness.ts';
import { type PolicyCluster, startPolicyCluster } from './policy-cluster.ts';
import { buildSend, T, WireClient } from './wire-client.ts';

const EXCLUSIVE = 0;
const RATE = 5;
const COUNT = 15;
/** The bucket holds one period's worth; the rest waits for refills at RATE per second. */
const MIN_EXCESS_MS = ((COUNT - RATE - 1) / RATE) * 1000;

let pc: PolicyCluster;
let cluster: string;

beforeAll(async () => {
  pc = await startPolicyCluster(inject('etcdEndpoint'));
  cluster = pc.sc.rc.cluster;
});
afterAll(async () => {
  await pc?.close();
  await stopAll();
});

describe('rate limits', { concurrent: false }, () => {
  it('publish rate: producers are paused, not refused; all sends are stored, the excess later', async () => {
    await pc.namespace('rate-publish', {
      publishMaxMessageRate: {
        [cluster]: { publishThrottlingRateInMsg: RATE, publishThrottlingRateInByte: -1 },
      },
    });
    const t = 'persistent://public/rate-publish/t';
    const c = await WireClient.open(pc.broker.brokerServicePort);
    expect((await c.createProducer(t, 1n, { producerName: 'p' })).type).toBe(T.PRODUCER_SUCCESS);
    const receipts: Promise<unknown>[] = [];
    const started = Date.now();
    // All SENDs written at once: the broker must stop reading them, not fail them.
    const frames: Buffer[] = [];
    for (let i = 0; i < COUNT; i++) {
      const seq = BigInt(i);
      receipts.push(
        c.waitFor(
          (x) =>
            (x.type === T.SEND_RECEIPT && x.sendReceipt?.sequenceId === seq) ||
            (x.type === T.SEND_ERROR && x.sendError?.sequenceId === seq),
          30_000,
        ),
      );
      frames.push(buildSend(1n, seq, `m${i}`, { producerName: 'p' }));
    }
    c.writeRaw(Buffer.concat(frames));
    const answers = (await Promise.all(receipts)) as { type: number }[];
    const elapsed = Date.now() - started;
    expect(answers.every((a) => a.type === T.SEND_RECEIPT)).toBe(true);
    expect(pc.topic(t).publishThrottle.throttledTotal).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(MIN_EXCESS_MS);
    expect((await pc.broker.service.topicStats(t)).msgInCounter).toBe(COUNT);
    c.close();
  });

  it('dispatch rate: a consumer with plenty of permits gets every message, the excess later', async () => {
    await pc.namespace('rate-dispatch', {
      topicDispatchRate: {
        [cluster]: {
          dispatchThrottlingRateInMsg: RATE,
          dispatchThrottlingRateInByte: -1,
          ratePeriodInSecond: 1,
          relativeToPublishRate: false,
        },
      },
    });
    const t = 'persistent://public/rate-dispatch/t';
    const c = await WireClient.open(pc.broker.brokerServicePort);
    expect((await c.subscribe(t, 's', 1n, EXCLUSIVE)).type).toBe(T.SUCCESS);
    expect((await c.createProducer(t, 1n)).type).toBe(T.PRODUCER_SUCCESS);
    for (let i = 0; i < COUNT; i++)
      expect((await c.publish(1n, BigInt(i), `m${i}`)).type).toBe(T.SEND_RECEIPT);
    const started = Date.now();
    c.flow(1n, 1000);
    const got = await c.waitForMessages(1n, COUNT, 30_000);
    const elapsed = Date.now() - started;
    expect(got.map((m) => m.payloads[0])).toEqual(Array.from({ length: COUNT }, (_, i) => `m${i}`));
    expect(pc.topic(t).subscriptions.get('s')!.throttle.waits).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(MIN_EXCESS_MS);
    c.close();
  });

  it('subscription dispatch rate applies live to a loaded topic and can be lifted', async () => {
    const ns = await pc.namespace('rate-subdispatch');
    const t = 'persistent://public/rate-subdispatch/t';
    const c = await WireClient.open(pc.broker.brokerServicePort);
    expect((await c.subscribe(t, 's', 1n, EXCLUSIVE)).type).toBe(T.SUCCESS);
    expect((await c.createProducer(t, 1n)).type).toBe(T.PRODUCER_SUCCESS);
    await pc.update(ns, (p) => {
      p.subscriptionDispatchRate[cluster] = {
        dispatchThrottlingRateInMsg: 2,
        dispatchThrottlingRateInByte: -1,
        ratePeriodInSecond: 1,
        relativeToPublishRate: false,
      };
    });
    const sub = pc.topic(t).subscriptions.get('s')!;
    await eventually(() => sub.throttle.limited, 'subscription dispatch rate applied');
    for (let i = 0; i < 6; i++) expect((await c.publish(1n, BigInt(i), `a${i}`)).type).toBe(T.SEND_RECEIPT);
    c.flow(1n, 1000);
    await c.waitForMessages(1n, 6, 30_000);
    expect(sub.throttle.waits).toBeGreaterThan(0);
    await pc.update(ns, (p) => {
      delete p.subscriptionDispatchRate[cluster];
    });
    await eventually(() => !sub.throttle.limited, 'subscription dispatch rate lifted');
    // Lifted: the rest flows without waiting for tokens (the wait counter stays where it was).
    const waits = sub.throttle.waits;
    for (let i = 0; i < 10; i++)
      expect((await c.publish(1n, BigInt(10 + i), `b${i}`)).type).toBe(T.SEND_RECEIPT);
    await c.waitForMessages(1n, 16, 30_000);
    expect(sub.throttle.waits).toBe(waits);
    c.close();
  });

  it('subscribe rate: a consumer re-subscribing too often is refused with TooManyRequests', async () => {
    await pc.namespace('rate-subscribe', {
      clusterSubscribeRate: { [cluster]: { subscribeThrottlingRatePerConsumer: 2, ratePeriodInSecond: 60 } },
    });
    const t = 'persistent://public/rate-subscribe/t';
    const c = await WireClient.open(pc.broker.brokerServicePort);
    const answers: { type: number; code?: number }[] = [];
    for (let i = 1n; i <= 3n; i++) {
      const r = await c.subscribe(t, 's', i, EXCLUSIVE, { consumerName: 'same' });
      answers.push({ type: r.type, code: r.error?.error });
      if (r.type === T.SUCCESS) {
        const requestId = c.requestId();
        await c.request({ type: T.CLOSE_CONSUMER, closeConsumer: { consumerId: i, requestId } }, requestId);
      }
    }
    expect(answers.slice(0, 2).map((a) => a.type)).toEqual([T.SUCCESS, T.SUCCESS]);
    expect(answers[2]).toEqual({ type: T.ERROR, code: ServerError.TooManyRequests });
    // Another consumer name has its own budget.
    expect((await c.subscribe(t, 's', 9n, EXCLUSIVE, { consumerName: 'other' })).type).toBe(T.SUCCESS);
    c.close();
  });
});
