/**
 * CPU cost per message of the client's hot paths with no network in between (one thread):
 *  - produce: accept a message into a batch, encode the batch (per-message SingleMessageMetadata,
 *    MessageMetadata, CRC32C) and frame the SEND — what `sendAsync` costs before the socket;
 *  - consume: parse a MESSAGE frame of a batch (CRC check, metadata, batch split) into Message
 *    objects — what the consumer costs per message before the application sees it.
 * For batches of 1000 messages of 100 B and 1 KiB, uncompressed and LZ4. Prints figures.
 * Usage: node bench/client-codec.ts [--seconds 2]
 */
import { loadavg } from 'node:os';
import { create } from '@bufbuild/protobuf';
import { decodeMessageFrame, isDecodeProblem } from '../lib/client/consumer/message-decoder.ts';
import { encodeEntry, type QueuedMessage } from '../lib/client/producer/batch-builder.ts';
import { buildOpSend } from '../lib/client/producer/op-send.ts';
import { ProtoWriter } from '../lib/client/producer/proto-writer.ts';
import { CommandMessageSchema } from '../lib/gen/pulsar/PulsarApi_pb.ts';

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 2;
const BATCH = 1000;

function measure(label: string, perRound: number, round: () => void): void {
  for (let i = 0; i < 3; i++) round(); // warm up
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let rounds = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    round();
    rounds++;
  }
  const cpu = process.cpuUsage(cpu0);
  const messages = rounds * perRound;
  const cpuUs = (cpu.user + cpu.system) / messages;
  const rate = messages / ((performance.now() - t0) / 1000);
  console.log(
    `${label.padEnd(34)} ${cpuUs.toFixed(2).padStart(7)} µs CPU/msg  ${Math.round(rate).toLocaleString('en-US').padStart(11)} msg/s`,
  );
}

function produceRound(payload: Buffer, compression: number): () => void {
  const ctx = {
    producerName: 'bench',
    compression,
    nowMs: Date.now(),
    metadataWriter: new ProtoWriter(),
    batchWriter: new ProtoWriter(1 << 20),
  };
  let seq = 0;
  return () => {
    const msgs: QueuedMessage[] = new Array(BATCH);
    for (let i = 0; i < BATCH; i++) {
      msgs[i] = {
        payload,
        key: undefined,
        orderingKey: undefined,
        properties: undefined,
        eventTime: undefined,
        deliverAt: undefined,
        sequenceId: seq++,
        callback: undefined,
      };
    }
    const entry = encodeEntry(ctx, msgs);
    buildOpSend(
      1,
      entry,
      msgs.map((m) => m.callback),
      0,
    );
  };
}

function consumeRound(payload: Buffer, compression: number): () => void {
  const ctx = {
    producerName: 'bench',
    compression,
    nowMs: Date.now(),
    metadataWriter: new ProtoWriter(),
    batchWriter: new ProtoWriter(1 << 20),
  };
  const msgs: QueuedMessage[] = Array.from({ length: BATCH }, (_, i) => ({
    payload,
    key: undefined,
    orderingKey: undefined,
    properties: undefined,
    eventTime: undefined,
    deliverAt: undefined,
    sequenceId: i,
    callback: undefined,
  }));
  const op = buildOpSend(1, encodeEntry(ctx, msgs), [], 0);
  // The stored entry a broker forwards: everything after the SEND command.
  const commandSize = op.head.readUInt32BE(4);
  const section = Buffer.concat([op.head.subarray(8 + commandSize), op.payload]);
  const cmd = create(CommandMessageSchema, { consumerId: 1n, messageId: { ledgerId: 7n, entryId: 9n } });
  const origin = { topic: 'persistent://public/default/bench' };
  return () => {
    const out = decodeMessageFrame(cmd, section, origin.topic, -1, origin);
    if (isDecodeProblem(out) || out.messages.length !== BATCH) throw new Error('decode failed');
  };
}

console.log(
  `client hot paths, batches of ${BATCH}, ${SECONDS} s each; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const size of [100, 1024]) {
  const payload = Buffer.alloc(size, 7);
  for (const [name, codec] of [
    ['none', 0],
    ['lz4', 1],
  ] as const) {
    measure(`produce ${size} B ${name}`, BATCH, produceRound(payload, codec));
    measure(`consume ${size} B ${name}`, BATCH, consumeRound(payload, codec));
  }
}
