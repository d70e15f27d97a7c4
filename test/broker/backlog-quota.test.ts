/**
 * Backlog quotas enforced end to end (real etcd, a real bookie process, an in-process broker
 * resolving namespace policies from lib/policies): producer_exception refuses sends and new
 * producers with ProducerBlockedQuotaExceededException, producer_request_hold holds sends (in
 * order) and refuses new producers with ProducerBlockedQuotaExceededError until the backlog
 * falls, consumer_backlog_eviction moves the slowest subscription forward (size and age quotas),
 * and a quota set on a loaded topic applies without reloading it.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ServerError } from '../../lib/wire/protocol.ts';
import { stopAll } from '../harness/index.ts';
import { eventually } from './harness.ts';
import { type PolicyCluster, startPolicyCluster } from './policy-cluster.ts';
import { T, WireClient } from './wire-client.ts';

const EXCLUSIVE = 0;
const BODY = 'x'.repeat(1000);
const LIMIT = 5_000;

let pc: PolicyCluster;

beforeAll(async () => {
  pc = await startPolicyCluster(inject('etcdEndpoint'));
});
afterAll(async () => {
  await pc?.close();
  await stopAll();
});

/** A topic with a durable subscription that never reads, and a producer. */
async function topicWithIdleSubscription(t: string): Promise<WireClient> {
  const c = await WireClient.open(pc.broker.brokerServicePort);
  expect((await c.subscribe(t, 's', 1n, EXCLUSIVE)).type).toBe(T.SUCCESS);
  expect((await c.createProducer(t, 1n)).type).toBe(T.PRODUCER_SUCCESS);
  return c;
}

describe('backlog quota actions', { concurrent: false }, () => {
  it('producer_exception refuses sends and new producers until the backlog is cleared', async () => {
    await pc.namespace('bq-exception', {
      backlog_quota_map: {
        destination_storage: { limitSize: LIMIT, limitTime: -1, policy: 'producer_exception' },
      },
    });
    const t = 'persistent://public/bq-exception/t';
    const c = await topicWithIdleSubscription(t);
    let refused: number | undefined;
    let accepted = 0;
    for (let seq = 0n; seq < 50n && refused === undefined; seq++) {
      const r = await c.publish(1n, seq, BODY);
      if (r.type === T.SEND_ERROR) refused = r.sendError!.error;
      else accepted++;
    }
    expect(refused).toBe(ServerError.ProducerBlockedQuotaExceededException);
    // The quota is passed only once the backlog is above the limit (strictly).
    expect(accepted).toBeGreaterThanOrEqual(Math.floor(LIMIT / BODY.length));
    const second = await c.createProducer(t, 2n);
    expect(second.type).toBe(T.ERROR);
    expect(second.error!.error).toBe(ServerError.ProducerBlockedQuotaExceededException);

    await pc.broker.service.clearBacklog(t, 's');
    expect((await c.publish(1n, 100n, 'after')).type).toBe(T.SEND_RECEIPT);
    expect((await c.createProducer(t, 3n)).type).toBe(T.PRODUCER_SUCCESS);
    c.close();
  });

  it('producer_request_hold holds sends in order and refuses new producers until the backlog falls', async () => {
    await pc.namespace('bq-hold', {
      backlog_quota_map: {
        destination_storage: { limitSize: LIMIT, limitTime: -1, policy: 'producer_request_hold' },
      },
    });
    const t = 'persistent://public/bq-hold/t';
    const c = await topicWithIdleSubscription(t);
    let seq = 0n;
    for (; pc.topic(t).backlog.action !== 'hold'; seq++) {
      expect(seq).toBeLessThan(50n);
      expect((await c.publish(1n, seq, BODY)).type).toBe(T.SEND_RECEIPT);
    }
    const first = c.publish(1n, seq, 'held-1');
    const second = c.publish(1n, seq + 1n, 'held-2');
    await eventually(() => pc.topic(t).backlog.heldCount === 2, 'two held sends');
    const blocked = await c.createProducer(t, 2n);
    expect(blocked.error?.error).toBe(ServerError.ProducerBlockedQuotaExceededError);

    // A consumer acknowledges everything: the held sends go through, in order.
    await pc.broker.service.clearBacklog(t, 's');
    const [r1, r2] = await Promise.all([first, second]);
    expect(r1.type).toBe(T.SEND_RECEIPT);
    expect(r2.type).toBe(T.SEND_RECEIPT);
    const id1 = r1.sendReceipt!.messageId!;
    const id2 = r2.sendReceipt!.messageId!;
    expect(id2.ledgerId > id1.ledgerId || (id2.ledgerId === id1.ledgerId && id2.entryId > id1.entryId)).toBe(
      true,
    );
    c.flow(1n, 10);
    const got = await c.waitForMessages(1n, 2);
    expect(got.map((m) => m.payloads[0])).toEqual(['held-1', 'held-2']);
    c.close();
  });

  it('consumer_backlog_eviction moves the idle subscription forward; producers are never refused', async () => {
    await pc.namespace('bq-evict', {
      backlog_quota_map: {
        destination_storage: { limitSize: LIMIT, limitTime: -1, policy: 'consumer_backlog_eviction' },
      },
    });
    const t = 'persistent://public/bq-evict/t';
    const c = await topicWithIdleSubscription(t);
    for (let seq = 0n; seq < 20n; seq++) expect((await c.publish(1n, seq, BODY)).type).toBe(T.SEND_RECEIPT);
    await eventually(
      async () => (await pc.broker.service.topicStats(t)).subscriptions.s.backlogSize <= LIMIT,
      'backlog evicted under the quota',
    );
    const sub = (await pc.broker.service.topicStats(t)).subscriptions.s;
    expect(sub.msgBacklog).toBeGreaterThan(0);
    expect(sub.msgBacklog).toBeLessThan(20);
    expect(pc.topic(t).backlog.evictionsTotal).toBeGreaterThan(0);
    // What is left is the newest messages: the consumer gets the tail, in order.
    c.flow(1n, 100);
    const got = await c.waitForMessages(1n, sub.msgBacklog);
    expect(got.length).toBe(sub.msgBacklog);
    c.close();
  });

  it('an age quota with eviction expires old messages at the periodic check', async () => {
    await pc.namespace('bq-age', {
      backlog_quota_map: {
        message_age: { limitSize: -1, limitTime: 60, policy: 'consumer_backlog_eviction' },
      },
    });
    const t = 'persistent://public/bq-age/t';
    const c = await topicWithIdleSubscription(t);
    for (let seq = 0n; seq < 3n; seq++) expect((await c.publish(1n, seq, BODY)).type).toBe(T.SEND_RECEIPT);
    // Checked now: nothing is a minute old.
    await pc.broker.checkPolicies('backlog-quota');
    expect((await pc.broker.service.topicStats(t)).subscriptions.s.msgBacklog).toBe(3);
    // Checked as of two minutes later: every message is past the quota and is expired.
    await pc.broker.checkPolicies('backlog-quota', Date.now() + 120_000);
    await eventually(
      async () => (await pc.broker.service.topicStats(t)).subscriptions.s.msgBacklog === 0,
      'aged backlog evicted',
    );
    c.close();
  });

  it('a quota set while the topic is loaded applies at once, and removing it lifts it', async () => {
    const ns = await pc.namespace('bq-live');
    const t = 'persistent://public/bq-live/t';
    const c = await topicWithIdleSubscription(t);
    for (let seq = 0n; seq < 10n; seq++) expect((await c.publish(1n, seq, BODY)).type).toBe(T.SEND_RECEIPT);
    await pc.update(ns, (p) => {
      p.backlog_quota_map.destination_storage = {
        limitSize: LIMIT,
        limitTime: -1,
        policy: 'producer_exception',
      };
    });
    await eventually(() => pc.topic(t).backlog.action === 'reject', 'quota applied to the loaded topic');
    const r = await c.publish(1n, 10n, BODY);
    expect(r.sendError?.error).toBe(ServerError.ProducerBlockedQuotaExceededException);
    await pc.update(ns, (p) => {
      delete p.backlog_quota_map.destination_storage;
    });
    await eventually(() => pc.topic(t).backlog.action === 'none', 'quota lifted');
    expect((await c.publish(1n, 11n, BODY)).type).toBe(T.SEND_RECEIPT);
    c.close();
  });
});
