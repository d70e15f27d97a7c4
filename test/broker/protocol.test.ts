/**
 * Every protocol command against a real broker over TCP (non-persistent topics: no storage
 * needed), including the coded refusals for bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerError } from '../../lib/wire/protocol.ts';
import { parseTopicName, type TopicName } from '../../lib/wire/topic-name.ts';
import { FRAME_PADDING_BYTES } from '../../lib/wire/frame.ts';
import type { Broker } from '../../services/broker/broker.ts';
import { eventually, startTestBroker } from './harness.ts';
import { buildSend, T, WireClient } from './wire-client.ts';

let broker: Broker;
let port: number;
const MAX_MESSAGE = 64 * 1024;

beforeAll(async () => {
  broker = await startTestBroker({
    maxMessageSizeBytes: MAX_MESSAGE,
    keepAliveIntervalMs: 300,
    connectTimeoutMs: 500,
  });
  port = broker.brokerServicePort;
});
afterAll(async () => {
  await broker.close();
});

let n = 0;
const topic = () => `non-persistent://public/default/proto-${++n}`;

describe('connection', () => {
  it('answers CONNECT with the negotiated version and the max message size', async () => {
    const c = await WireClient.open(port, { connect: false });
    c.send({ type: T.CONNECT, connect: { clientVersion: 'x', protocolVersion: 17 } });
    const connected = await c.waitFor((x) => x.type === T.CONNECTED);
    expect(connected.connected).toMatchObject({ protocolVersion: 17, maxMessageSize: MAX_MESSAGE });
    const newer = await WireClient.open(port, { connect: false });
    newer.send({ type: T.CONNECT, connect: { clientVersion: 'x', protocolVersion: 99 } });
    expect((await newer.waitFor((x) => x.type === T.CONNECTED)).connected?.protocolVersion).toBe(19);
    c.close();
    newer.close();
  });

  it('closes a connection that sends anything before CONNECT', async () => {
    const c = await WireClient.open(port, { connect: false });
    c.send({ type: T.PING, ping: {} });
    await c.closedPromise;
  });

  it('closes a connection that never sends CONNECT', async () => {
    const c = await WireClient.open(port, { connect: false });
    await c.closedPromise;
  });

  it('answers PING with PONG, pings idle clients and drops silent ones', async () => {
    const c = await WireClient.open(port);
    c.send({ type: T.PING, ping: {} });
    await c.waitFor((x) => x.type === T.PONG);
    // the client answers broker PINGs (WireClient does), so it stays connected across intervals
    await new Promise((r) => setTimeout(r, 1_000));
    expect(c.closed).toBe(false);
    // a peer that never answers: raw socket after CONNECT, ignoring PINGs
    const silent = await WireClient.open(port);
    silent.socket.removeAllListeners('data');
    await silent.closedPromise;
    c.close();
  });

  it('refuses a second CONNECT, unknown and broker-only commands with coded errors and keeps serving', async () => {
    const c = await WireClient.open(port);
    c.send({ type: T.CONNECT, connect: { clientVersion: 'again' } });
    expect((await c.waitFor((x) => x.type === T.ERROR)).error?.error).toBe(ServerError.NotAllowedError);
    // type 1000 is not a protocol command: BaseCommand {type: 1000}
    c.writeRaw(Buffer.from([0, 0, 0, 7, 0, 0, 0, 3, 0x08, 0xe8, 0x07]));
    expect((await c.waitFor((x) => x.type === T.ERROR)).error?.message).toMatch(/unknown command/);
    const rid = c.requestId();
    c.send({ type: T.SUCCESS, success: { requestId: rid } });
    expect((await c.waitFor((x) => x.type === T.ERROR)).error).toMatchObject({
      requestId: rid,
      error: ServerError.NotAllowedError,
    });
    c.send({ type: T.PING, ping: {} });
    await c.waitFor((x) => x.type === T.PONG);
    c.close();
  });

  it('closes the connection on undecodable command bytes and on oversized frames', async () => {
    const bad = await WireClient.open(port);
    bad.writeRaw(Buffer.from([0, 0, 0, 7, 0, 0, 0, 3, 0xff, 0xff, 0xff]));
    await bad.closedPromise;
    const big = await WireClient.open(port);
    const head = Buffer.alloc(8);
    head.writeUInt32BE(MAX_MESSAGE + FRAME_PADDING_BYTES + 100, 0);
    head.writeUInt32BE(10, 4);
    big.writeRaw(head);
    const err = await big.waitFor((x) => x.type === T.ERROR);
    expect(err.error?.message).toMatch(/exceeds/);
    await big.closedPromise;
  });
});

describe('lookup and metadata', () => {
  it('LOOKUP answers Connect with this broker, authoritative', async () => {
    const c = await WireClient.open(port);
    const rid = c.requestId();
    const r = await c.request({ type: T.LOOKUP, lookupTopic: { topic: 'x', requestId: rid } }, rid);
    expect(r.lookupTopicResponse).toMatchObject({
      response: 1,
      authoritative: true,
      brokerServiceUrl: broker.brokerServiceUrl,
    });
    const bad = c.requestId();
    const f = await c.request({ type: T.LOOKUP, lookupTopic: { topic: 'a/b', requestId: bad } }, bad);
    expect(f.lookupTopicResponse).toMatchObject({ response: 2, error: ServerError.InvalidTopicName });
    c.close();
  });

  it('PARTITIONED_METADATA answers 0 for plain topics, N for partitioned ones, Failed for bad names', async () => {
    const c = await WireClient.open(port);
    const ask = async (t: string) => {
      const rid = c.requestId();
      return (
        await c.request(
          { type: T.PARTITIONED_METADATA, partitionMetadata: { topic: t, requestId: rid } },
          rid,
        )
      ).partitionMetadataResponse!;
    };
    expect(await ask(topic())).toMatchObject({ partitions: 0, response: 0 });
    const base = `non-persistent://public/default/parted-${n}`;
    await broker.policies.createPartitionedMetadata(parseTopicName(base) as TopicName, 3);
    expect(await ask(base)).toMatchObject({ partitions: 3 });
    expect(await ask(`${base}-partition-1`)).toMatchObject({ partitions: 0 });
    expect(await ask('persistent://a/b/c/d')).toMatchObject({
      response: 1,
      error: ServerError.InvalidTopicName,
    });
    // producing on the partitioned base name or past the last partition is refused
    expect((await c.createProducer(base, 1n)).error?.error).toBe(ServerError.NotAllowedError);
    expect((await c.createProducer(`${base}-partition-3`, 2n)).error?.error).toBe(ServerError.TopicNotFound);
    // a partition is a real topic and its messages carry the partition index
    expect((await c.createProducer(`${base}-partition-2`, 3n)).type).toBe(T.PRODUCER_SUCCESS);
    expect((await c.subscribe(`${base}-partition-2`, 's', 4n, 1)).type).toBe(T.SUCCESS);
    c.flow(4n, 10);
    const receipt = await c.publish(3n, 0n, 'p2');
    expect(receipt.sendReceipt?.messageId?.partition).toBe(2);
    const [m] = await c.waitForMessages(4n, 1);
    expect(m.id.partition).toBe(2);
    c.close();
  });

  it('GET_TOPICS_OF_NAMESPACE lists loaded topics, filters by pattern, and honours the hash', async () => {
    const c = await WireClient.open(port);
    const t1 = topic();
    await c.createProducer(t1, 1n);
    const rid = c.requestId();
    const all = await c.request(
      {
        type: T.GET_TOPICS_OF_NAMESPACE,
        getTopicsOfNamespace: { requestId: rid, namespace: 'public/default', mode: 2 },
      },
      rid,
    );
    expect(all.getTopicsOfNamespaceResponse?.topics).toContain(t1);
    const rid2 = c.requestId();
    const filtered = await c.request(
      {
        type: T.GET_TOPICS_OF_NAMESPACE,
        getTopicsOfNamespace: {
          requestId: rid2,
          namespace: 'public/default',
          mode: 2,
          topicsPattern: `.*proto-${n}`,
          topicsHash: '',
        },
      },
      rid2,
    );
    expect(filtered.getTopicsOfNamespaceResponse).toMatchObject({ topics: [t1], filtered: true });
    const rid3 = c.requestId();
    const same = await c.request(
      {
        type: T.GET_TOPICS_OF_NAMESPACE,
        getTopicsOfNamespace: {
          requestId: rid3,
          namespace: 'public/default',
          mode: 2,
          topicsPattern: `.*proto-${n}`,
          topicsHash: filtered.getTopicsOfNamespaceResponse!.topicsHash,
        },
      },
      rid3,
    );
    expect(same.getTopicsOfNamespaceResponse).toMatchObject({ topics: [], changed: false });
    const rid4 = c.requestId();
    const bad = await c.request(
      { type: T.GET_TOPICS_OF_NAMESPACE, getTopicsOfNamespace: { requestId: rid4, namespace: 'nope' } },
      rid4,
    );
    expect(bad.error?.error).toBe(ServerError.InvalidTopicName);
    c.close();
  });
});

describe('producers', () => {
  it('creates producers with generated names and answers receipts in order', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    const ok = await c.createProducer(t, 1n);
    expect(ok.producerSuccess?.producerName).toMatch(/^standalone-/);
    expect(ok.producerSuccess?.lastSequenceId).toBe(-1n);
    const again = await c.createProducer(t, 1n);
    expect(again.producerSuccess?.producerName).toBe(ok.producerSuccess?.producerName);
    const receipts: bigint[] = [];
    const done = new Promise<void>((resolve) => {
      const check = () => {
        for (const r of c.received.splice(0))
          if (r.type === T.SEND_RECEIPT) receipts.push(r.sendReceipt!.sequenceId);
        if (receipts.length === 50) resolve();
        else setTimeout(check, 5);
      };
      check();
    });
    for (let i = 0; i < 50; i++) c.writeRaw(buildSend(1n, BigInt(i), `m${i}`));
    await done;
    expect(receipts).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i)));
    c.close();
  });

  it('refuses bad topic names, conflicting access modes and duplicate names with their codes', async () => {
    const c = await WireClient.open(port);
    expect((await c.createProducer('persistent://x', 1n)).error?.error).toBe(ServerError.InvalidTopicName);
    const t = topic();
    expect((await c.createProducer(t, 2n, { producerAccessMode: 1 })).type).toBe(T.PRODUCER_SUCCESS);
    expect((await c.createProducer(t, 3n)).error?.error).toBe(ServerError.ProducerFenced);
    expect((await c.createProducer(t, 4n, { producerAccessMode: 1 })).error?.error).toBe(
      ServerError.ProducerFenced,
    );
    const t2 = topic();
    expect((await c.createProducer(t2, 5n, { producerName: 'dup' })).type).toBe(T.PRODUCER_SUCCESS);
    expect((await c.createProducer(t2, 6n, { producerName: 'dup' })).error?.error).toBe(
      ServerError.ProducerBusy,
    );
    c.close();
  });

  it('fences existing producers with ExclusiveWithFencing and queues WaitForExclusive', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    expect((await c.createProducer(t, 1n)).type).toBe(T.PRODUCER_SUCCESS);
    const rid = c.requestId();
    const waiting = await c.request(
      { type: T.PRODUCER, producer: { topic: t, producerId: 2n, requestId: rid, producerAccessMode: 2 } },
      rid,
    );
    expect(waiting.producerSuccess?.producerReady).toBe(false);
    // closing the shared producer promotes the waiter: a second PRODUCER_SUCCESS, ready
    const promoted = c.waitFor((x) => x.type === T.PRODUCER_SUCCESS && x.producerSuccess?.requestId === rid);
    const cr = c.requestId();
    await c.request({ type: T.CLOSE_PRODUCER, closeProducer: { producerId: 1n, requestId: cr } }, cr);
    expect((await promoted).producerSuccess?.producerReady).toBe(true);
    expect((await c.publish(2n, 0n, 'x')).type).toBe(T.SEND_RECEIPT);
    const closed = c.waitFor((x) => x.type === T.CLOSE_PRODUCER && x.closeProducer?.producerId === 2n);
    expect((await c.createProducer(t, 3n, { producerAccessMode: 3 })).type).toBe(T.PRODUCER_SUCCESS);
    await closed;
    c.close();
  });

  it('answers SEND problems with SEND_ERROR codes and keeps the connection', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.createProducer(t, 1n);
    const frame = buildSend(1n, 1n, 'payload');
    frame[frame.length - 1] ^= 0xff; // corrupt the payload: checksum no longer matches
    const p = c.waitFor((x) => x.type === T.SEND_ERROR);
    c.writeRaw(frame);
    expect((await p).sendError).toMatchObject({ sequenceId: 1n, error: ServerError.ChecksumError });
    expect((await c.publish(9n, 1n, 'no producer')).sendError?.error).toBe(ServerError.NotAllowedError);
    expect((await c.publish(1n, 2n, 'x'.repeat(MAX_MESSAGE + 100))).sendError?.error).toBe(
      ServerError.NotAllowedError,
    );
    expect((await c.publish(1n, 3n, 'fine')).type).toBe(T.SEND_RECEIPT);
    c.close();
  });
});

describe('consumers', () => {
  it('delivers within permits, per message in a batch', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.createProducer(t, 1n);
    expect((await c.subscribe(t, 's', 7n, 1)).type).toBe(T.SUCCESS);
    c.flow(7n, 3);
    await c.publish(1n, 0n, ['a', 'b', 'c']);
    await c.publish(1n, 1n, 'dropped: no permits left');
    const [batch] = await c.waitForMessages(7n, 1);
    expect(batch.payloads).toEqual(['a', 'b', 'c']);
    c.flow(7n, 1);
    await c.publish(1n, 2n, 'd');
    const all = await c.waitForMessages(7n, 2);
    expect(all[1].payloads).toEqual(['d']);
    c.close();
  });

  it('refuses a second exclusive consumer and a different subscription type with ConsumerBusy', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    expect((await c.subscribe(t, 's', 1n, 0)).type).toBe(T.SUCCESS);
    expect((await c.subscribe(t, 's', 2n, 0)).error?.error).toBe(ServerError.ConsumerBusy);
    expect((await c.subscribe(t, 's', 3n, 1)).error?.error).toBe(ServerError.ConsumerBusy);
    expect((await c.subscribe(t, 'pulsar.dedup', 4n, 1)).error?.error).toBe(ServerError.NotAllowedError);
    c.close();
  });

  it('answers ACK (with request id), ACK on unknown consumers, UNSUBSCRIBE, CLOSE_CONSUMER and stats', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.subscribe(t, 's', 1n, 1);
    const rid = c.requestId();
    const ack = await c.request(
      {
        type: T.ACK,
        ack: { consumerId: 1n, ackType: 0, messageId: [{ ledgerId: 1n, entryId: 1n }], requestId: rid },
      },
      rid,
    );
    expect(ack.type).toBe(T.ACK_RESPONSE);
    expect(ack.ackResponse?.error).toBe(0);
    const rid2 = c.requestId();
    const unknown = await c.request(
      {
        type: T.ACK,
        ack: { consumerId: 99n, ackType: 0, messageId: [{ ledgerId: 1n, entryId: 1n }], requestId: rid2 },
      },
      rid2,
    );
    expect(unknown.ackResponse?.error).toBe(ServerError.ConsumerNotFound);
    const rs = c.requestId();
    const stats = await c.request(
      { type: T.CONSUMER_STATS, consumerStats: { requestId: rs, consumerId: 1n } },
      rs,
    );
    expect(stats.consumerStatsResponse).toMatchObject({ type: 'Shared' });
    const rl = c.requestId();
    const last = await c.request(
      { type: T.GET_LAST_MESSAGE_ID, getLastMessageId: { consumerId: 1n, requestId: rl } },
      rl,
    );
    expect(last.getLastMessageIdResponse?.lastMessageId).toBeDefined();
    const rk = c.requestId();
    const seek = await c.request(
      { type: T.SEEK, seek: { consumerId: 1n, requestId: rk, messagePublishTime: 1n } },
      rk,
    );
    expect(seek.error?.error).toBe(ServerError.NotAllowedError);
    await c.subscribe(t, 's', 2n, 1);
    const ru = c.requestId();
    const busy = await c.request({ type: T.UNSUBSCRIBE, unsubscribe: { consumerId: 1n, requestId: ru } }, ru);
    expect(busy.error?.error).toBe(ServerError.ConsumerBusy);
    const rc = c.requestId();
    expect(
      (await c.request({ type: T.CLOSE_CONSUMER, closeConsumer: { consumerId: 2n, requestId: rc } }, rc))
        .type,
    ).toBe(T.SUCCESS);
    const ru2 = c.requestId();
    expect(
      (await c.request({ type: T.UNSUBSCRIBE, unsubscribe: { consumerId: 1n, requestId: ru2 } }, ru2)).type,
    ).toBe(T.SUCCESS);
    const ru3 = c.requestId();
    expect(
      (await c.request({ type: T.UNSUBSCRIBE, unsubscribe: { consumerId: 1n, requestId: ru3 } }, ru3)).error
        ?.error,
    ).toBe(ServerError.ConsumerNotFound);
    const rp = c.requestId();
    expect(
      (await c.request({ type: T.CLOSE_PRODUCER, closeProducer: { producerId: 42n, requestId: rp } }, rp))
        .type,
    ).toBe(T.SUCCESS);
    c.close();
  });

  it('spreads Shared round-robin and sends ACTIVE_CONSUMER_CHANGE for Failover', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.createProducer(t, 1n);
    await c.subscribe(t, 'sh', 1n, 1);
    await c.subscribe(t, 'sh', 2n, 1);
    c.flow(1n, 100);
    c.flow(2n, 100);
    const fa = c.waitFor(
      (x) => x.type === T.ACTIVE_CONSUMER_CHANGE && x.activeConsumerChange?.consumerId === 3n,
    );
    await c.subscribe(t, 'fo', 3n, 2, { consumerName: 'b' });
    expect((await fa).activeConsumerChange?.isActive).toBe(true);
    const switched = c.waitFor(
      (x) => x.type === T.ACTIVE_CONSUMER_CHANGE && x.activeConsumerChange?.consumerId === 3n,
    );
    await c.subscribe(t, 'fo', 4n, 2, { consumerName: 'a' });
    expect((await switched).activeConsumerChange?.isActive).toBe(false);
    c.flow(3n, 100);
    c.flow(4n, 100);
    for (let i = 0; i < 10; i++) await c.publish(1n, BigInt(i), `m${i}`);
    await c.waitForMessages(4n, 10);
    expect(c.messages.filter((m) => m.consumerId === 1n)).toHaveLength(5);
    expect(c.messages.filter((m) => m.consumerId === 2n)).toHaveLength(5);
    expect(c.messages.filter((m) => m.consumerId === 3n)).toHaveLength(0);
    c.close();
  });

  it('closes producers and consumers from the broker when the topic is unloaded', async () => {
    const c = await WireClient.open(port);
    const t = topic();
    await c.createProducer(t, 1n);
    await c.subscribe(t, 's', 2n, 0);
    const cp = c.waitFor((x) => x.type === T.CLOSE_PRODUCER);
    const cc = c.waitFor((x) => x.type === T.CLOSE_CONSUMER);
    await broker.service.unloadTopic(t);
    expect((await cp).closeProducer?.producerId).toBe(1n);
    expect((await cc).closeConsumer?.consumerId).toBe(2n);
    // the ids are free again on this connection and the topic loads again
    expect((await c.subscribe(t, 's', 2n, 0)).type).toBe(T.SUCCESS);
    c.close();
  });
});

describe('optional command families', () => {
  it('answers schema and transaction commands with their own response types', async () => {
    const c = await WireClient.open(port);
    const r1 = c.requestId();
    expect(
      (await c.request({ type: T.GET_SCHEMA, getSchema: { requestId: r1, topic: topic() } }, r1))
        .getSchemaResponse?.errorCode,
    ).toBe(ServerError.TopicNotFound);
    const r2 = c.requestId();
    const created = await c.request(
      {
        type: T.GET_OR_CREATE_SCHEMA,
        getOrCreateSchema: { requestId: r2, topic: topic(), schema: { type: 1 } },
      },
      r2,
    );
    expect(created.getOrCreateSchemaResponse?.schemaVersion).toHaveLength(8);
    const r3 = c.requestId();
    const tc = await c.request(
      { type: T.TC_CLIENT_CONNECT_REQUEST, tcClientConnectRequest: { requestId: r3 } },
      r3,
    );
    expect(tc.type).toBe(T.TC_CLIENT_CONNECT_RESPONSE);
    expect(tc.tcClientConnectResponse?.error).toBe(ServerError.NotAllowedError);
    const r4 = c.requestId();
    expect((await c.request({ type: T.NEW_TXN, newTxn: { requestId: r4 } }, r4)).type).toBe(
      T.NEW_TXN_RESPONSE,
    );
    c.close();
  });

  it('serves many producers and consumers on one connection', async () => {
    const c = await WireClient.open(port);
    const topics = Array.from({ length: 20 }, () => topic());
    await Promise.all(topics.map((t, i) => c.createProducer(t, BigInt(i))));
    await Promise.all(topics.map((t, i) => c.subscribe(t, 's', BigInt(100 + i), 1)));
    for (let i = 0; i < topics.length; i++) c.flow(BigInt(100 + i), 10);
    await Promise.all(topics.map((_, i) => c.publish(BigInt(i), 0n, `t${i}`)));
    await eventually(() => c.messages.length === 20, 'one message per topic');
    for (let i = 0; i < topics.length; i++) {
      expect(c.messages.find((m) => m.consumerId === BigInt(100 + i))?.payloads).toEqual([`t${i}`]);
    }
    c.close();
  });
});

describe('topic lifecycle', () => {
  it('unloads topics that have had no producer and no consumer for a while', async () => {
    const b = await startTestBroker({ inactiveTopicUnloadMs: 200 });
    try {
      const c = await WireClient.open(b.brokerServicePort);
      const busy = 'non-persistent://public/default/kept';
      const idle = 'non-persistent://public/default/idle';
      await c.createProducer(busy, 1n);
      await c.createProducer(idle, 2n);
      const rid = c.requestId();
      await c.request({ type: T.CLOSE_PRODUCER, closeProducer: { producerId: 2n, requestId: rid } }, rid);
      await eventually(() => !b.service.listLoadedTopics().includes(idle), 'idle topic unloaded');
      expect(b.service.listLoadedTopics()).toContain(busy);
      c.close();
    } finally {
      await b.close();
    }
  });
});
