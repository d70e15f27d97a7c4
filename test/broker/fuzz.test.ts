/**
 * Seeded fuzzing of the binary protocol port: random bytes, mutated valid frames, valid frames
 * with random field values and well-framed junk commands, over many connections (a bounded count).
 * The broker serves persistent topics on a real bookie and non-persistent ones.
 * After every round a well-behaved client must still produce and consume, and at the end the
 * broker holds no leftover connections. Any uncaught exception in the broker fails the test (it
 * runs in this process). Replay a seed with BROKER_FUZZ_SEED=n.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { BaseCommand_Type } from '../../lib/gen/pulsar/PulsarApi_pb.ts';
import { type CommandInit, encodeCommand } from '../../lib/wire/commands.ts';
import { stopAll } from '../harness/index.ts';
import { startStorageBroker, startStorageCluster, type StorageCluster } from './cluster.ts';
import { eventually } from './harness.ts';
import { buildSend, T, WireClient } from './wire-client.ts';

const SEED = Number(process.env.BROKER_FUZZ_SEED ?? 20261121);
const ROUNDS = 12;
const FRAMES_PER_ROUND = 250;

let sc: StorageCluster;
let broker: Awaited<ReturnType<typeof startStorageBroker>>;
beforeAll(async () => {
  sc = await startStorageCluster(inject('etcdEndpoint'), 1, 1);
  broker = await startStorageBroker(sc, {
    maxMessageSizeBytes: 256 * 1024,
    keepAliveIntervalMs: 2_000,
    connectTimeoutMs: 2_000,
  });
});
afterAll(async () => {
  await broker?.storageClose();
  await sc?.stop();
  await stopAll();
});

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const TOPICS = [
  'non-persistent://public/default/fz',
  'fz2',
  'persistent://public/default/fz',
  'a/b',
  'persistent://x/y/z/w',
  '',
  'non-persistent://public/default/fz-partition-1',
];

function corpus(r: () => number): CommandInit[] {
  const pick = <X>(xs: readonly X[]) => xs[Math.floor(r() * xs.length)];
  const raw = () => BigInt(Math.floor(r() * 5)) - (r() < 0.1 ? 3n : 0n);
  const big = () => BigInt.asUintN(64, raw());
  const signed = () => BigInt.asIntN(64, raw());
  const id = () => (r() < 0.1 ? 2n ** 64n - 1n : BigInt(Math.floor(r() * 4)));
  return [
    { type: T.CONNECT, connect: { clientVersion: 'fuzz', protocolVersion: Math.floor(r() * 25) - 2 } },
    { type: T.LOOKUP, lookupTopic: { topic: pick(TOPICS), requestId: id() } },
    { type: T.PARTITIONED_METADATA, partitionMetadata: { topic: pick(TOPICS), requestId: id() } },
    {
      type: T.PRODUCER,
      producer: {
        topic: pick(TOPICS),
        producerId: id(),
        requestId: id(),
        producerAccessMode: Math.floor(r() * 5) as 0,
      },
    },
    {
      type: T.SUBSCRIBE,
      subscribe: {
        topic: pick(TOPICS),
        subscription: pick(['s', '', 'pulsar.dedup', 'x'.repeat(600)]),
        subType: Math.floor(r() * 5) as 0,
        consumerId: id(),
        requestId: id(),
        keySharedMeta:
          r() < 0.3
            ? {
                keySharedMode: 1,
                hashRanges: [{ start: Math.floor(r() * 70000) - 100, end: Math.floor(r() * 70000) }],
              }
            : undefined,
      },
    },
    { type: T.FLOW, flow: { consumerId: id(), messagePermits: Math.floor(r() * 2 ** 32) } },
    {
      type: T.ACK,
      ack: {
        consumerId: id(),
        ackType: Math.floor(r() * 3) as 0,
        messageId: Array.from({ length: Math.floor(r() * 3) }, () => ({
          ledgerId: big(),
          entryId: big(),
          ackSet: r() < 0.3 ? [signed()] : [],
          batchSize: Math.floor(r() * 100) - 10,
        })),
        requestId: id(),
      },
    },
    {
      type: T.REDELIVER_UNACKNOWLEDGED_MESSAGES,
      redeliverUnacknowledgedMessages: {
        consumerId: id(),
        messageIds: [{ ledgerId: big(), entryId: big() }],
      },
    },
    { type: T.SEEK, seek: { consumerId: id(), requestId: id(), messagePublishTime: big() } },
    { type: T.GET_LAST_MESSAGE_ID, getLastMessageId: { consumerId: id(), requestId: id() } },
    { type: T.UNSUBSCRIBE, unsubscribe: { consumerId: id(), requestId: id() } },
    { type: T.CLOSE_PRODUCER, closeProducer: { producerId: id(), requestId: id() } },
    { type: T.CLOSE_CONSUMER, closeConsumer: { consumerId: id(), requestId: id() } },
    {
      type: T.GET_TOPICS_OF_NAMESPACE,
      getTopicsOfNamespace: {
        requestId: id(),
        namespace: pick(['public/default', 'x', '']),
        topicsPattern: pick(['', '(', '.*', '[']),
      },
    },
    { type: T.CONSUMER_STATS, consumerStats: { requestId: id(), consumerId: id() } },
    { type: T.PING, ping: {} },
    { type: T.MESSAGE, message: { consumerId: id(), messageId: { ledgerId: 1n, entryId: 1n } } },
    { type: T.NEW_TXN, newTxn: { requestId: id() } },
  ];
}

function fuzzFrame(r: () => number): Buffer {
  const kind = r();
  if (kind < 0.15)
    return Buffer.from(Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256)));
  let frame: Buffer;
  if (kind < 0.35) {
    frame = buildSend(
      BigInt(Math.floor(r() * 3)),
      BigInt(Math.floor(r() * 10)),
      r() < 0.5 ? 'x'.repeat(Math.floor(r() * 2000)) : ['a', 'b', 'c'],
    );
  } else {
    const cmds = corpus(r);
    frame = encodeCommand(cmds[Math.floor(r() * cmds.length)]);
  }
  const m = r();
  if (m < 0.4) return frame; // valid frame, random values
  const out = Buffer.from(frame);
  if (m < 0.6) {
    for (let i = 0; i < 1 + Math.floor(r() * 4); i++)
      out[Math.floor(r() * out.length)] ^= 1 << Math.floor(r() * 8);
    return out;
  }
  if (m < 0.7) return out.subarray(0, Math.floor(r() * out.length));
  if (m < 0.8) {
    out.writeUInt32BE(Math.floor(r() * 2 ** 32), r() < 0.5 ? 0 : 4);
    return out;
  }
  if (m < 0.9) {
    // well-framed but the command bytes are junk
    const junk = Buffer.from(Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * 256)));
    const head = Buffer.alloc(8);
    head.writeUInt32BE(4 + junk.length, 0);
    head.writeUInt32BE(junk.length, 4);
    return Buffer.concat([head, junk]);
  }
  return Buffer.concat([
    out,
    Buffer.from(Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256))),
  ]);
}

function openRaw(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
    s.on('error', () => undefined);
    s.on('data', () => undefined);
  });
}

async function wellBehavedRoundTrip(port: number, round: number): Promise<void> {
  const c = await WireClient.open(port);
  const t = `non-persistent://public/default/healthy-${round}`;
  expect((await c.createProducer(t, 1n)).type).toBe(T.PRODUCER_SUCCESS);
  expect((await c.subscribe(t, 's', 2n, 1)).type).toBe(T.SUCCESS);
  c.flow(2n, 10);
  expect((await c.publish(1n, 0n, `ok-${round}`)).type).toBe(T.SEND_RECEIPT);
  expect((await c.waitForMessages(2n, 1))[0].payloads).toEqual([`ok-${round}`]);
  c.close();
}

it(`survives ${ROUNDS * FRAMES_PER_ROUND} fuzzed frames and keeps serving (seed ${SEED})`, {
  timeout: 120_000,
}, async () => {
  const r = rng(SEED);
  const port = broker.brokerServicePort;
  const sockets: Socket[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let socket: Socket | undefined;
    for (let i = 0; i < FRAMES_PER_ROUND; i++) {
      if (!socket || socket.destroyed || r() < 0.05) {
        socket = await openRaw(port);
        sockets.push(socket);
        if (r() < 0.8)
          socket.write(
            encodeCommand({
              type: BaseCommand_Type.CONNECT,
              connect: { clientVersion: 'fuzz', protocolVersion: 19 },
            }),
          );
      }
      socket.write(fuzzFrame(r));
      if (i % 25 === 0) await new Promise((res) => setImmediate(res));
    }
    await wellBehavedRoundTrip(port, round);
  }
  for (const s of sockets) s.destroy();
  await eventually(() => broker.connectionCount() === 0, 'every fuzz connection released');
  expect(broker.topics.loadedTopics().length).toBeLessThan(50);
  for (const t of broker.topics.loadedTopics()) {
    const stats = await t.stats();
    expect(stats.publishers).toEqual([]);
    for (const s of Object.values(stats.subscriptions)) expect(s.consumers).toEqual([]);
  }
  await wellBehavedRoundTrip(port, ROUNDS);
});
