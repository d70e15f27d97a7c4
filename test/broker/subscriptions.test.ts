/**
 * Subscription semantics end to end over TCP on persistent topics (real bookie): Key_Shared key
 * order across consumers joining and leaving, Failover priority and partition spread, Shared
 * unacked caps.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseTopicName, type TopicName } from '../../lib/wire/topic-name.ts';
import { stopAll } from '../harness/index.ts';
import { startStorageBroker, startStorageCluster, type StorageCluster } from './cluster.ts';
import { eventually, sleep } from './harness.ts';
import { type ReceivedMessage, T, WireClient } from './wire-client.ts';

let sc: StorageCluster;
let broker: Awaited<ReturnType<typeof startStorageBroker>>;
let port: number;

beforeAll(async () => {
  sc = await startStorageCluster(inject('etcdEndpoint'), 1, 1);
  broker = await startStorageBroker(sc, { activeConsumerFailoverDelayMs: 0 });
  port = broker.brokerServicePort;
});
afterAll(async () => {
  await broker?.storageClose();
  await sc?.stop();
  await stopAll();
});

let n = 0;
const topic = () => `persistent://public/default/sub-${++n}-${Date.now()}`;

function ack(c: WireClient, consumerId: bigint, m: ReceivedMessage): void {
  c.send({
    type: T.ACK,
    ack: {
      consumerId,
      ackType: 0,
      messageId: [{ ledgerId: BigInt(m.id.ledgerId), entryId: BigInt(m.id.entryId) }],
    },
  });
}

describe('Key_Shared', () => {
  it('keeps per-key order while consumers join and leave (moved keys wait for their acks)', async () => {
    const t = topic();
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    const c = await WireClient.open(port);
    await c.createProducer(t, 100n);
    await c.subscribe(t, 'ks', 1n, 3, { initialPosition: 1 });
    c.flow(1n, 1000);
    // per key: sequence number of each message, delivered in order
    const seqOfKey = new Map<string, number>();
    const expected: { key: string; seq: number }[] = [];
    let seq = 0;
    const publish = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const key = keys[(i * 7 + seq) % keys.length];
        const s = (seqOfKey.get(key) ?? -1) + 1;
        seqOfKey.set(key, s);
        expected.push({ key, seq: s });
        await c.publish(100n, BigInt(seq++), `${key}:${s}`, { partitionKey: key });
      }
    };
    // A holds its messages unacked while B joins: keys moved to B must wait for A's acks.
    await publish(40);
    await c.waitForMessages(1n, 40);
    await c.subscribe(t, 'ks', 2n, 3);
    c.flow(2n, 1000);
    await publish(40);
    await sleep(300);
    const onB = c.messages.filter((m) => m.consumerId === 2n);
    const heldByA = new Set(c.messages.filter((m) => m.consumerId === 1n).map((m) => m.keys[0]));
    for (const m of onB)
      expect(heldByA.has(m.keys[0]), `key ${m.keys[0]} delivered to B while unacked on A`).toBe(false);
    // A acks everything it has, then leaves; B must get the rest, in per-key order.
    for (const m of c.messages.filter((x) => x.consumerId === 1n)) ack(c, 1n, m);
    await eventually(() => c.messages.length >= 80, 'all 80 delivered');
    const rid = c.requestId();
    await c.request({ type: T.CLOSE_CONSUMER, closeConsumer: { consumerId: 1n, requestId: rid } }, rid);
    await publish(20);
    await eventually(() => c.messages.length >= 100, 'all 100 delivered');
    const lastSeq = new Map<string, number>();
    for (const m of c.messages) {
      const [key, s] = m.payloads[0].split(':');
      expect(Number(s)).toBe((lastSeq.get(key) ?? -1) + 1);
      lastSeq.set(key, Number(s));
    }
    expect(c.messages).toHaveLength(expected.length);
    expect(c.messages.filter((m) => m.consumerId === 2n).length).toBeGreaterThan(0);
    c.close();
  });
});

describe('Failover', () => {
  it('the best priority level wins regardless of names', async () => {
    const t = topic();
    const c = await WireClient.open(port);
    await c.createProducer(t, 100n);
    await c.subscribe(t, 'fo', 1n, 2, { consumerName: 'a', priorityLevel: 1 });
    await c.subscribe(t, 'fo', 2n, 2, { consumerName: 'z', priorityLevel: 0 });
    c.flow(1n, 100);
    c.flow(2n, 100);
    for (let i = 0; i < 5; i++) await c.publish(100n, BigInt(i), `m${i}`);
    await c.waitForMessages(2n, 5);
    expect(c.messages.filter((m) => m.consumerId === 1n)).toHaveLength(0);
    c.close();
  });

  it('spreads the partitions of a partitioned topic over the consumers', async () => {
    const base = topic();
    await broker.policies.createPartitionedMetadata(parseTopicName(base) as TopicName, 4);
    const c = await WireClient.open(port);
    const consumers = [
      { name: 'c1', ids: [10n, 11n, 12n, 13n] },
      { name: 'c2', ids: [20n, 21n, 22n, 23n] },
    ];
    for (const { name, ids } of consumers) {
      for (let p = 0; p < 4; p++) {
        expect(
          (await c.subscribe(`${base}-partition-${p}`, 'fo', ids[p], 2, { consumerName: name })).type,
        ).toBe(T.SUCCESS);
        c.flow(ids[p], 100);
      }
    }
    for (let p = 0; p < 4; p++) {
      await c.createProducer(`${base}-partition-${p}`, BigInt(p));
      await c.publish(BigInt(p), 0n, `p${p}`);
    }
    await eventually(() => c.messages.length === 4, 'one message per partition');
    const activeOf = (p: number) =>
      c.messages.find((m) => m.id.partition === p)!.consumerId < 20n ? 'c1' : 'c2';
    expect([0, 1, 2, 3].map(activeOf)).toEqual(['c1', 'c2', 'c1', 'c2']);
    c.close();
  });
});

describe('Shared', () => {
  it('stops a consumer at its unacked cap and resumes when half is acked', async () => {
    const capped = await startStorageBroker(sc, { maxUnackedMessagesPerConsumer: 6 });
    const t = topic();
    const c = await WireClient.open(capped.brokerServicePort);
    await c.createProducer(t, 100n);
    await c.subscribe(t, 'cap', 1n, 1);
    c.flow(1n, 100);
    for (let i = 0; i < 12; i++) await c.publish(100n, BigInt(i), `m${i}`);
    await c.waitForMessages(1n, 6);
    await sleep(200);
    expect(c.messages).toHaveLength(6);
    const stats = await capped.service.topicStats(t);
    expect(stats.subscriptions.cap.consumers[0]).toMatchObject({
      unackedMessages: 6,
      blockedConsumerOnUnackedMsgs: true,
    });
    for (const m of c.messages.slice(0, 3)) ack(c, 1n, m);
    await c.waitForMessages(1n, 9);
    c.close();
    await capped.storageClose();
  });
});
