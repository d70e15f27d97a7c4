/**
 * Persistent topics end to end over TCP, on real bookie processes and etcd: acks (individual,
 * cumulative, batch index), redelivery with counts, seek, readers, last message id, delayed
 * delivery, termination, and acknowledgements surviving a broker restart.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CommandAck_AckType } from '../../lib/gen/pulsar/PulsarApi_pb.ts';
import { ServerError } from '../../lib/wire/protocol.ts';
import { unackedToAckSet } from '../../lib/wire/message-id.ts';
import { stopAll } from '../harness/index.ts';
import { startStorageBroker, startStorageCluster, type StorageCluster } from './cluster.ts';
import { eventually, sleep } from './harness.ts';
import { T, WireClient } from './wire-client.ts';

let sc: StorageCluster;
let broker: Awaited<ReturnType<typeof startStorageBroker>>;
let port: number;

beforeAll(async () => {
  sc = await startStorageCluster(inject('etcdEndpoint'), 1, 1);
  broker = await startStorageBroker(sc, { delayedDeliveryTickMs: 50, activeConsumerFailoverDelayMs: 0 });
  port = broker.brokerServicePort;
});
afterAll(async () => {
  await broker?.storageClose();
  await sc?.stop();
  await stopAll();
});

let n = 0;
const topic = () => `persistent://public/default/pt-${++n}`;
const EARLIEST = { initialPosition: 1 };

async function produce(c: WireClient, t: string, producerId: bigint, payloads: string[]): Promise<void> {
  await c.createProducer(t, producerId);
  for (let i = 0; i < payloads.length; i++) {
    const r = await c.publish(producerId, BigInt(i), payloads[i]);
    expect(r.type).toBe(T.SEND_RECEIPT);
  }
}

function ackIds(
  c: WireClient,
  consumerId: bigint,
  ids: { ledgerId: number; entryId: number }[],
  ackType = 0,
): Promise<unknown> {
  const rid = c.requestId();
  return c.request(
    {
      type: T.ACK,
      ack: {
        consumerId,
        ackType: ackType as CommandAck_AckType,
        requestId: rid,
        messageId: ids.map((m) => ({ ledgerId: BigInt(m.ledgerId), entryId: BigInt(m.entryId) })),
      },
    },
    rid,
  );
}

async function closeConsumer(c: WireClient, consumerId: bigint): Promise<void> {
  const rid = c.requestId();
  await c.request({ type: T.CLOSE_CONSUMER, closeConsumer: { consumerId, requestId: rid } }, rid);
}

describe('acknowledgement and redelivery', () => {
  it('redelivers only unacknowledged messages to the next consumer', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.subscribe(t, 's', 1n, 0, EARLIEST);
    await produce(c, t, 9n, ['a', 'b', 'c', 'd']);
    c.flow(1n, 10);
    const got = await c.waitForMessages(1n, 4);
    await ackIds(c, 1n, [got[0].id, got[2].id]);
    await closeConsumer(c, 1n);
    await c.subscribe(t, 's', 2n, 0);
    c.flow(2n, 10);
    const again = await c.waitForMessages(2n, 2);
    expect(again.map((m) => m.payloads[0])).toEqual(['b', 'd']);
    expect(again.every((m) => m.redeliveryCount === 1)).toBe(true);
    const stats = await broker.service.topicStats(t);
    expect(stats.subscriptions.s).toMatchObject({ msgBacklog: 2, type: 'Exclusive' });
    c.close();
  });

  it('cumulative ack on Exclusive acks everything up to the message', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.subscribe(t, 's', 1n, 0, EARLIEST);
    await produce(c, t, 9n, ['1', '2', '3', '4', '5', '6']);
    c.flow(1n, 10);
    const got = await c.waitForMessages(1n, 6);
    await ackIds(c, 1n, [got[2].id], 1);
    await closeConsumer(c, 1n);
    await c.subscribe(t, 's', 2n, 0);
    c.flow(2n, 10);
    expect((await c.waitForMessages(2n, 3)).map((m) => m.payloads[0])).toEqual(['4', '5', '6']);
    c.close();
  });

  it('Shared: negative ack redelivers that message with redelivery count 1; a closed consumer’s messages go to the other', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.subscribe(t, 's', 1n, 1, EARLIEST);
    await produce(c, t, 9n, ['first', 'second', 'third']);
    c.flow(1n, 10);
    const got = await c.waitForMessages(1n, 3);
    c.send({
      type: T.REDELIVER_UNACKNOWLEDGED_MESSAGES,
      redeliverUnacknowledgedMessages: {
        consumerId: 1n,
        messageIds: [{ ledgerId: BigInt(got[0].id.ledgerId), entryId: BigInt(got[0].id.entryId) }],
      },
    });
    const again = await c.waitForMessages(1n, 4);
    expect(again[3]).toMatchObject({ payloads: ['first'], redeliveryCount: 1 });
    await c.subscribe(t, 's', 2n, 1);
    c.flow(2n, 10);
    await closeConsumer(c, 1n);
    const moved = await c.waitForMessages(2n, 3);
    expect(moved.map((m) => m.payloads[0]).sort()).toEqual(['first', 'second', 'third']);
    expect(moved.find((m) => m.payloads[0] === 'first')?.redeliveryCount).toBe(2);
    c.close();
  });

  it('Exclusive: any redelivery request rewinds to the first unacknowledged message', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.subscribe(t, 's', 1n, 0, EARLIEST);
    await produce(c, t, 9n, ['first', 'second', 'third']);
    c.flow(1n, 10);
    const got = await c.waitForMessages(1n, 3);
    await ackIds(c, 1n, [got[1].id]);
    c.send({
      type: T.REDELIVER_UNACKNOWLEDGED_MESSAGES,
      redeliverUnacknowledgedMessages: { consumerId: 1n },
    });
    const all = await c.waitForMessages(1n, 5);
    expect(all.slice(3).map((m) => m.payloads[0])).toEqual(['first', 'third']);
    c.close();
  });

  it('batch-index acks keep the rest of the batch and tell the next consumer which indexes are acked', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.subscribe(t, 's', 1n, 1, EARLIEST);
    await c.createProducer(t, 9n);
    await c.publish(9n, 0n, ['x0', 'x1', 'x2', 'x3']);
    c.flow(1n, 10);
    const [m] = await c.waitForMessages(1n, 1);
    const rid = c.requestId();
    await c.request(
      {
        type: T.ACK,
        ack: {
          consumerId: 1n,
          ackType: 0,
          requestId: rid,
          messageId: [
            {
              ledgerId: BigInt(m.id.ledgerId),
              entryId: BigInt(m.id.entryId),
              ackSet: unackedToAckSet([false, true, false, true]),
              batchSize: 4,
            },
          ],
        },
      },
      rid,
    );
    await closeConsumer(c, 1n);
    await c.subscribe(t, 's', 2n, 1);
    c.flow(2n, 10);
    const [again] = await c.waitForMessages(2n, 1);
    expect(again.ackSet).toEqual(unackedToAckSet([false, true, false, true]));
    c.close();
  });

  it('answers ACK_RESPONSE for repeated acks and delivers in permit units per message', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.subscribe(t, 's', 1n, 1, EARLIEST);
    await c.createProducer(t, 9n);
    await c.publish(9n, 0n, ['a', 'b', 'c']);
    await c.publish(9n, 1n, 'd');
    c.flow(1n, 3);
    const [batch] = await c.waitForMessages(1n, 1);
    await sleep(200);
    expect(c.messages.filter((x) => x.consumerId === 1n)).toHaveLength(1);
    expect((await ackIds(c, 1n, [batch.id])) as { type: number }).toMatchObject({ type: T.ACK_RESPONSE });
    expect((await ackIds(c, 1n, [batch.id])) as { type: number }).toMatchObject({ type: T.ACK_RESPONSE });
    c.flow(1n, 1);
    expect((await c.waitForMessages(1n, 2))[1].payloads).toEqual(['d']);
    c.close();
  });
});

describe('positions', () => {
  it('SEEK by message id and by publish time answers SUCCESS, then disconnects the consumer', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.subscribe(t, 's', 1n, 0, EARLIEST);
    await produce(c, t, 9n, ['a', 'b']);
    await sleep(20);
    const middle = Date.now();
    await sleep(20);
    await c.publish(9n, 2n, 'c');
    c.flow(1n, 10);
    const got = await c.waitForMessages(1n, 3);
    await ackIds(
      c,
      1n,
      got.map((m) => m.id),
    );
    const closed = c.waitFor((x) => x.type === T.CLOSE_CONSUMER);
    const rid = c.requestId();
    const ok = await c.request(
      {
        type: T.SEEK,
        seek: {
          consumerId: 1n,
          requestId: rid,
          messageId: { ledgerId: BigInt(got[1].id.ledgerId), entryId: BigInt(got[1].id.entryId) },
        },
      },
      rid,
    );
    expect(ok.type).toBe(T.SUCCESS);
    await closed;
    await c.subscribe(t, 's', 2n, 0);
    c.flow(2n, 10);
    expect((await c.waitForMessages(2n, 2)).map((m) => m.payloads[0])).toEqual(['b', 'c']);
    const closed2 = c.waitFor((x) => x.type === T.CLOSE_CONSUMER && x.closeConsumer?.consumerId === 2n);
    const rid2 = c.requestId();
    await c.request(
      { type: T.SEEK, seek: { consumerId: 2n, requestId: rid2, messagePublishTime: BigInt(middle) } },
      rid2,
    );
    await closed2;
    await c.subscribe(t, 's', 3n, 0);
    c.flow(3n, 10);
    expect((await c.waitForMessages(3n, 1)).map((m) => m.payloads[0])).toEqual(['c']);
    c.close();
  });

  it('non-durable readers start after the given id and leave no subscription behind', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await produce(c, t, 9n, ['a', 'b', 'c']);
    const rl = c.requestId();
    await c.subscribe(t, 'probe', 5n, 0, EARLIEST);
    const last = await c.request(
      { type: T.GET_LAST_MESSAGE_ID, getLastMessageId: { consumerId: 5n, requestId: rl } },
      rl,
    );
    const lastId = last.getLastMessageIdResponse!.lastMessageId!;
    await closeConsumer(c, 5n);
    const first = lastId.entryId - 2n;
    await c.subscribe(t, 'reader-1', 1n, 0, {
      durable: false,
      startMessageId: { ledgerId: lastId.ledgerId, entryId: first },
    });
    c.flow(1n, 10);
    expect((await c.waitForMessages(1n, 2)).map((m) => m.payloads[0])).toEqual(['b', 'c']);
    expect(await broker.service.listSubscriptions(t)).toContain('reader-1');
    await closeConsumer(c, 1n);
    await eventually(
      async () => !(await broker.service.listSubscriptions(t)).includes('reader-1'),
      'reader cursor removed',
    );
    await c.subscribe(t, 'reader-2', 2n, 0, {
      durable: false,
      startMessageId: { ledgerId: 2n ** 64n - 1n, entryId: 2n ** 64n - 1n },
    });
    c.flow(2n, 10);
    expect((await c.waitForMessages(2n, 3)).map((m) => m.payloads[0])).toEqual(['a', 'b', 'c']);
    c.close();
  });

  it('GET_LAST_MESSAGE_ID gives the last entry (and the last index of a batch) and the mark-delete position', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.subscribe(t, 's', 1n, 0, EARLIEST);
    await c.createProducer(t, 9n);
    const r = await c.publish(9n, 0n, ['x', 'y', 'z']);
    const rid = c.requestId();
    const last = await c.request(
      { type: T.GET_LAST_MESSAGE_ID, getLastMessageId: { consumerId: 1n, requestId: rid } },
      rid,
    );
    expect(last.getLastMessageIdResponse?.lastMessageId).toMatchObject({
      ledgerId: r.sendReceipt?.messageId?.ledgerId,
      entryId: r.sendReceipt?.messageId?.entryId,
      batchIndex: 2,
    });
    expect(last.getLastMessageIdResponse?.consumerMarkDeletePosition).toBeDefined();
    c.close();
  });
});

describe('delivery features', () => {
  it('Shared subscriptions hold deliver_at_time messages until due', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.subscribe(t, 's', 1n, 1, EARLIEST);
    await c.createProducer(t, 9n);
    const at = Date.now() + 600;
    await c.publish(9n, 0n, 'later', { deliverAtTime: BigInt(at) });
    await c.publish(9n, 1n, 'now');
    c.flow(1n, 10);
    const [first] = await c.waitForMessages(1n, 1);
    expect(first.payloads).toEqual(['now']);
    const both = await c.waitForMessages(1n, 2);
    expect(both[1].payloads).toEqual(['later']);
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    c.close();
  });

  it('a terminated topic refuses producers and tells caught-up consumers it reached its end', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.subscribe(t, 's', 1n, 0, EARLIEST);
    await produce(c, t, 9n, ['only']);
    c.flow(1n, 10);
    await c.waitForMessages(1n, 1);
    const end = c.waitFor((x) => x.type === T.REACHED_END_OF_TOPIC);
    await broker.service.terminateTopic(t);
    await end;
    expect((await c.createProducer(t, 10n)).error?.error).toBe(ServerError.TopicTerminatedError);
    c.close();
  });

  it('UNSUBSCRIBE deletes the subscription and its cursor', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.subscribe(t, 'gone', 1n, 0);
    expect(await broker.service.listSubscriptions(t)).toEqual(['gone']);
    const rid = c.requestId();
    expect(
      (await c.request({ type: T.UNSUBSCRIBE, unsubscribe: { consumerId: 1n, requestId: rid } }, rid)).type,
    ).toBe(T.SUCCESS);
    expect(await broker.service.listSubscriptions(t)).toEqual([]);
    c.close();
  });
});

describe('restart', () => {
  it('acknowledgements and subscriptions survive a broker restart', async () => {
    const t = topic();
    let c = await WireClient.open(port);
    await c.subscribe(t, 'durable', 1n, 1, EARLIEST);
    await produce(c, t, 9n, ['a', 'b', 'c', 'd', 'e']);
    c.flow(1n, 10);
    const got = await c.waitForMessages(1n, 5);
    await ackIds(c, 1n, [got[0].id, got[1].id, got[3].id]);
    c.close();
    await broker.storageClose();
    broker = await startStorageBroker(sc, { delayedDeliveryTickMs: 50, activeConsumerFailoverDelayMs: 0 });
    port = broker.brokerServicePort;
    expect(await broker.service.listSubscriptions(t)).toEqual(['durable']);
    c = await WireClient.open(port);
    await c.subscribe(t, 'durable', 1n, 1);
    c.flow(1n, 10);
    expect((await c.waitForMessages(1n, 2)).map((m) => m.payloads[0]).sort()).toEqual(['c', 'e']);
    await sleep(200);
    expect(c.messages).toHaveLength(2);
    c.close();
  });
});
