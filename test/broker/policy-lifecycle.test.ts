/**
 * Namespace policies enforced on real storage (shared etcd, two bookie processes, an in-process
 * broker on lib/policies, small ledgers so trimming has something to trim): retention (size,
 * infinite, and a change on a loaded topic driving the managed ledger's trimming), message TTL
 * (the periodic check moves subscriptions), subscription expiration, auto topic creation on/off
 * (non-partitioned and partitioned), max producers per topic (0 = unlimited), E/Qw/Qa changes on
 * a loaded topic, and CONSUMER_STATS reporting the real backlog.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseTopicName } from '../../lib/policies/names.ts';
import { createPartitionedTopic } from '../../lib/policies/partitioned.ts';
import { updateTopicPolicies } from '../../lib/policies/topic-policies.ts';
import { ServerError } from '../../lib/wire/protocol.ts';
import { stopAll } from '../harness/index.ts';
import { eventually } from './harness.ts';
import { type PolicyCluster, startPolicyCluster } from './policy-cluster.ts';
import { T, WireClient } from './wire-client.ts';

const EXCLUSIVE = 0;
const MB = 1024 * 1024;

let pc: PolicyCluster;

beforeAll(async () => {
  pc = await startPolicyCluster(inject('etcdEndpoint'), {
    bookies: 2,
    broker: {
      defaultMaxEntriesPerLedger: 2,
      defaultMinLedgerRolloverTimeMs: 0,
      messageExpiryCheckIntervalMs: 200,
      maxMessageSizeBytes: 1 * MB,
    },
  });
});
afterAll(async () => {
  await pc?.close();
  await stopAll();
});

/** Publish `n` messages and acknowledge them all with a cumulative ack on `s`. */
async function produceAndConsume(c: WireClient, n: number, body: string): Promise<void> {
  for (let i = 0; i < n; i++) expect((await c.publish(1n, BigInt(i), body)).type).toBe(T.SEND_RECEIPT);
  c.flow(1n, n);
  const got = await c.waitForMessages(1n, n);
  const last = got[got.length - 1].id;
  const requestId = c.requestId();
  await c.request(
    {
      type: T.ACK,
      ack: {
        consumerId: 1n,
        ackType: 1,
        messageId: [{ ledgerId: BigInt(last.ledgerId), entryId: BigInt(last.entryId) }],
        requestId,
      },
    },
    requestId,
  );
}

async function openWithSubscription(t: string): Promise<WireClient> {
  const c = await WireClient.open(pc.broker.brokerServicePort);
  expect((await c.subscribe(t, 's', 1n, EXCLUSIVE)).type).toBe(T.SUCCESS);
  expect((await c.createProducer(t, 1n)).type).toBe(T.PRODUCER_SUCCESS);
  return c;
}

describe('retention drives trimming', { concurrent: false }, () => {
  it('infinite retention keeps consumed ledgers; switching the loaded topic to 0/0 trims them', async () => {
    const ns = await pc.namespace('ret-live', {
      retention_policies: { retentionTimeInMinutes: -1, retentionSizeInMB: -1 },
    });
    const t = 'persistent://public/ret-live/t';
    const c = await openWithSubscription(t);
    await produceAndConsume(c, 8, 'small');
    const topic = pc.topic(t);
    await topic.subscriptions.get('s')!.cursor.flush();
    const before = topic.ml.ledgers.length;
    expect(before).toBeGreaterThanOrEqual(4);
    await topic.ml.trimConsumedLedgers();
    expect(topic.ml.ledgers.length).toBe(before);

    await pc.update(ns, (p) => {
      p.retention_policies = { retentionTimeInMinutes: 0, retentionSizeInMB: 0 };
    });
    await eventually(() => topic.ml.config.retentionTimeMs === 0, 'retention reached the managed ledger');
    await eventually(async () => {
      await topic.ml.trimConsumedLedgers();
      return topic.ml.ledgers.length <= 2;
    }, 'consumed ledgers trimmed');
    expect(topic.ml.ledgers.filter((l) => l.entries > 0).length).toBeLessThanOrEqual(1);
    c.close();
  });

  it('size retention keeps at most the configured size of consumed data', async () => {
    await pc.namespace('ret-size', {
      retention_policies: { retentionTimeInMinutes: -1, retentionSizeInMB: 1 },
    });
    const t = 'persistent://public/ret-size/t';
    const c = await openWithSubscription(t);
    await produceAndConsume(c, 8, 'z'.repeat(300 * 1024));
    const topic = pc.topic(t);
    await topic.subscriptions.get('s')!.cursor.flush();
    expect(topic.ml.totalSizeBytes).toBeGreaterThan(2 * MB);
    await topic.ml.trimConsumedLedgers();
    expect(topic.ml.totalSizeBytes).toBeLessThanOrEqual(MB);
    // Consumed data inside the size limit stays (retention, not deletion on consumption).
    expect(topic.ml.totalSizeBytes).toBeGreaterThan(0);
    c.close();
  });
});

describe('expiry', { concurrent: false }, () => {
  it('message TTL: the periodic check moves an idle subscription past expired messages', async () => {
    await pc.namespace('ttl', { message_ttl_in_seconds: 1 });
    const t = 'persistent://public/ttl/t';
    const c = await openWithSubscription(t);
    for (let i = 0; i < 3; i++) expect((await c.publish(1n, BigInt(i), `m${i}`)).type).toBe(T.SEND_RECEIPT);
    expect((await pc.broker.service.topicStats(t)).subscriptions.s.msgBacklog).toBe(3);
    await eventually(
      async () => (await pc.broker.service.topicStats(t)).subscriptions.s.msgBacklog === 0,
      'messages expired by TTL',
    );
    expect((await pc.broker.service.topicStats(t)).subscriptions.s.lastExpireTimestamp).toBeGreaterThan(0);
    c.close();
  });

  it('subscription expiration deletes subscriptions idle past the policy, never one with consumers', async () => {
    await pc.namespace('subexp', { subscription_expiration_time_minutes: 1 });
    const t = 'persistent://public/subexp/t';
    const c = await WireClient.open(pc.broker.brokerServicePort);
    expect((await c.subscribe(t, 'idle', 1n, EXCLUSIVE)).type).toBe(T.SUCCESS);
    const requestId = c.requestId();
    await c.request({ type: T.CLOSE_CONSUMER, closeConsumer: { consumerId: 1n, requestId } }, requestId);
    expect((await c.subscribe(t, 'busy', 2n, EXCLUSIVE)).type).toBe(T.SUCCESS);
    await pc.broker.checkPolicies('subscription-expiry');
    expect((await pc.broker.service.listSubscriptions(t)).sort()).toEqual(['busy', 'idle']);
    await pc.broker.checkPolicies('subscription-expiry', Date.now() + 2 * 60_000);
    expect(await pc.broker.service.listSubscriptions(t)).toEqual(['busy']);
    c.close();
  });
});

describe('topics and producers', { concurrent: false }, () => {
  it('auto topic creation off refuses producers and consumers of missing topics with TopicNotFound', async () => {
    const ns = await pc.namespace('auto', { autoTopicCreationOverride: { allowAutoTopicCreation: false } });
    const c = await WireClient.open(pc.broker.brokerServicePort);
    const p = await c.createProducer('persistent://public/auto/missing', 1n);
    expect(p.error?.error).toBe(ServerError.TopicNotFound);
    const s = await c.subscribe('persistent://public/auto/missing', 's', 1n, EXCLUSIVE);
    expect(s.error?.error).toBe(ServerError.TopicNotFound);
    // An explicitly created topic is usable.
    await pc.broker.service.createTopic('persistent://public/auto/made');
    expect((await c.createProducer('persistent://public/auto/made', 2n)).type).toBe(T.PRODUCER_SUCCESS);

    // Switched to partitioned auto-creation: metadata is created with the default partitions.
    await pc.update(ns, (p) => {
      p.autoTopicCreationOverride = {
        allowAutoTopicCreation: true,
        topicType: 'partitioned',
        defaultNumPartitions: 3,
      };
    });
    const requestId = c.requestId();
    const meta = await c.request(
      {
        type: T.PARTITIONED_METADATA,
        partitionMetadata: { topic: 'persistent://public/auto/parted', requestId },
      },
      requestId,
    );
    expect(meta.partitionMetadataResponse?.partitions).toBe(3);
    const onPartition = await c.createProducer('persistent://public/auto/parted-partition-2', 3n);
    expect(onPartition.type).toBe(T.PRODUCER_SUCCESS);
    c.close();
  });

  it('max producers per topic: the default (0) is unlimited, a policy limit applies live', async () => {
    const ns = await pc.namespace('maxprod');
    const t = 'persistent://public/maxprod/t';
    const c = await WireClient.open(pc.broker.brokerServicePort);
    for (let i = 1n; i <= 3n; i++) expect((await c.createProducer(t, i)).type).toBe(T.PRODUCER_SUCCESS);
    await pc.update(ns, (p) => {
      p.max_producers_per_topic = 3;
    });
    await eventually(async () => {
      const r = await c.createProducer(t, 10n);
      if (r.type === T.PRODUCER_SUCCESS) {
        const requestId = c.requestId();
        await c.request({ type: T.CLOSE_PRODUCER, closeProducer: { producerId: 10n, requestId } }, requestId);
        return false;
      }
      expect(r.error?.error).toBe(ServerError.ProducerBusy);
      return true;
    }, 'the fourth producer refused');
    c.close();
  });

  it('a topic-level override on a partitioned topic reaches its loaded partitions', async () => {
    await pc.namespace('topicpol');
    const parent = 'persistent://public/topicpol/pt';
    await createPartitionedTopic(pc.ps, parseTopicName(parent), 2);
    const c = await WireClient.open(pc.broker.brokerServicePort);
    const part = `${parent}-partition-1`;
    expect((await c.createProducer(part, 1n)).type).toBe(T.PRODUCER_SUCCESS);
    await updateTopicPolicies(pc.ps, parseTopicName(parent), (p) => {
      p.max_producers_per_topic = 1;
      p.message_ttl_in_seconds = 30;
    });
    await eventually(() => pc.topic(part).policies.messageTtlSeconds === 30, 'topic policy applied');
    expect((await c.createProducer(part, 2n)).error?.error).toBe(ServerError.ProducerBusy);
    c.close();
  });

  it('E/Qw/Qa changes reach the loaded topic: later ledgers use them', async () => {
    const ns = await pc.namespace('persist');
    const t = 'persistent://public/persist/t';
    const c = await WireClient.open(pc.broker.brokerServicePort);
    expect((await c.createProducer(t, 1n)).type).toBe(T.PRODUCER_SUCCESS);
    expect(pc.topic(t).ml.config.ensembleSize).toBe(1);
    await pc.update(ns, (p) => {
      p.persistence = {
        bookkeeperEnsemble: 2,
        bookkeeperWriteQuorum: 2,
        bookkeeperAckQuorum: 2,
        managedLedgerMaxMarkDeleteRate: 1,
      };
    });
    await eventually(() => pc.topic(t).ml.config.ensembleSize === 2, 'persistence applied');
    expect(pc.topic(t).ml.config.ackQuorum).toBe(2);
    const firstLedger = pc.topic(t).ml.ledgers[0].ledgerId;
    // Enough entries to roll into a ledger created with the new quorum; every write is confirmed.
    for (let i = 0; i < 6; i++) expect((await c.publish(1n, BigInt(i), `m${i}`)).type).toBe(T.SEND_RECEIPT);
    expect(pc.topic(t).ml.ledgers.some((l) => l.ledgerId > firstLedger)).toBe(true);
    c.close();
  });

  it('CONSUMER_STATS reports the subscription backlog', async () => {
    const t = 'persistent://public/default/stats-backlog';
    const c = await openWithSubscription(t);
    for (let i = 0; i < 3; i++) expect((await c.publish(1n, BigInt(i), `m${i}`)).type).toBe(T.SEND_RECEIPT);
    const requestId = c.requestId();
    const r = await c.request(
      { type: T.CONSUMER_STATS, consumerStats: { consumerId: 1n, requestId } },
      requestId,
    );
    expect(r.consumerStatsResponse?.msgBacklog).toBe(3n);
    c.close();
  });
});
