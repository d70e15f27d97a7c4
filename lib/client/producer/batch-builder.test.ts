import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  CompressionType,
  MessageMetadataSchema,
  SingleMessageMetadataSchema,
} from '../../gen/pulsar/PulsarApi_pb.ts';
import { decodeBatch, isBatchProblem } from '../../wire/batch.ts';
import { decodeCommand, isCommandProblem } from '../../wire/commands.ts';
import { decompress } from '../../wire/compression.ts';
import { FrameDecoder } from '../../wire/frame.ts';
import { u64ToNumber } from '../../wire/message-id.ts';
import { decodeMetadata, isMetadataProblem } from '../../wire/metadata.ts';
import { isPayloadProblem, parsePayloadSection } from '../../wire/payload.ts';
import { BatchBuilder, encodeEntry, type QueuedMessage } from './batch-builder.ts';
import { buildOpSend } from './op-send.ts';
import { ProtoWriter } from './proto-writer.ts';

function msg(i: number, extra: Partial<QueuedMessage> = {}): QueuedMessage {
  return {
    payload: Buffer.from(`payload-${i}`),
    key: undefined,
    orderingKey: undefined,
    properties: undefined,
    eventTime: undefined,
    deliverAt: undefined,
    sequenceId: i,
    callback: undefined,
    ...extra,
  };
}

function ctx(compression = 0) {
  return {
    producerName: 'prod-1',
    compression,
    nowMs: 1_700_000_000_123,
    metadataWriter: new ProtoWriter(16),
    batchWriter: new ProtoWriter(16),
  };
}

describe('ProtoWriter', () => {
  it('writes the same bytes as protobuf-es for SingleMessageMetadata', () => {
    const w = new ProtoWriter(8);
    w.keyValues(1, { a: '1', ключ: 'значение' });
    w.stringField(2, 'k');
    w.varintField(3, 300);
    w.varintField(5, 1_700_000_000_000);
    w.bytesField(7, Buffer.from([1, 2, 3]));
    w.varintField(8, 2 ** 40 + 5);
    const expected = toBinary(
      SingleMessageMetadataSchema,
      create(SingleMessageMetadataSchema, {
        properties: [
          { key: 'a', value: '1' },
          { key: 'ключ', value: 'значение' },
        ],
        partitionKey: 'k',
        payloadSize: 300,
        eventTime: 1_700_000_000_000n,
        orderingKey: new Uint8Array([1, 2, 3]),
        sequenceId: 2n ** 40n + 5n,
      }),
    );
    expect(w.toBuffer().equals(Buffer.from(expected))).toBe(true);
  });

  it('encodes negative int64 like protobuf (10 bytes)', () => {
    const w = new ProtoWriter(4);
    w.int64Field(19, -1);
    const expected = toBinary(MessageMetadataSchema, create(MessageMetadataSchema, { deliverAtTime: -1n }));
    expect(w.toBuffer().equals(Buffer.from(expected))).toBe(true);
  });
});

describe('encodeEntry', () => {
  it('writes a single message with all its metadata, byte-identical to protobuf-es', () => {
    const m = msg(7, {
      key: 'user-1',
      orderingKey: Buffer.from('ok'),
      properties: { x: 'y' },
      eventTime: 1234,
      deliverAt: 1_700_000_009_000,
    });
    const e = encodeEntry(ctx(), [m]);
    expect(e.batched).toBe(false);
    const expected = toBinary(
      MessageMetadataSchema,
      create(MessageMetadataSchema, {
        producerName: 'prod-1',
        sequenceId: 7n,
        publishTime: 1_700_000_000_123n,
        properties: [{ key: 'x', value: 'y' }],
        partitionKey: 'user-1',
        eventTime: 1234n,
        orderingKey: Buffer.from('ok'),
        deliverAtTime: 1_700_000_009_000n,
      }),
    );
    expect(e.metadata.equals(Buffer.from(expected))).toBe(true);
    expect(e.payload.toString()).toBe('payload-7');
  });

  it('writes a batch: N × [size][SingleMessageMetadata][payload], sequence range, per-message data', () => {
    const msgs = [msg(10, { properties: { k: 'x' } }), msg(11, { key: 'a' }), msg(12, { eventTime: 99 })];
    const e = encodeEntry(ctx(), msgs);
    const md = decodeMetadata(e.metadata);
    if (isMetadataProblem(md)) throw new Error(md.detail);
    expect(md.numMessagesInBatch).toBe(3);
    expect(md.sequenceId).toBe(10n);
    expect(md.highestSequenceId).toBe(12n);
    expect(md.partitionKey).toBe('');
    const items = decodeBatch(e.payload, 3);
    if (isBatchProblem(items)) throw new Error(items.detail);
    expect(items.map((i) => i.payload.toString())).toEqual(['payload-10', 'payload-11', 'payload-12']);
    expect(items[0].metadata.properties).toMatchObject([{ key: 'k', value: 'x' }]);
    expect(items[1].metadata.partitionKey).toBe('a');
    expect(items[2].metadata.eventTime).toBe(99n);
    expect(items.map((i) => i.metadata.sequenceId)).toEqual([10n, 11n, 12n]);
  });

  it('puts a key shared by every message of a batch at the entry level too', () => {
    const e = encodeEntry(ctx(), [msg(1, { key: 'same' }), msg(2, { key: 'same' })]);
    const md = decodeMetadata(e.metadata);
    if (isMetadataProblem(md)) throw new Error(md.detail);
    expect(md.partitionKey).toBe('same');
  });

  it.each([
    ['LZ4', CompressionType.LZ4],
    ['ZLIB', CompressionType.ZLIB],
    ['ZSTD', CompressionType.ZSTD],
    ['SNAPPY', CompressionType.SNAPPY],
  ])('compresses the whole batch with %s and records the uncompressed size', (_name, type) => {
    const msgs = Array.from({ length: 20 }, (_, i) => msg(i, { payload: Buffer.alloc(100, i) }));
    const e = encodeEntry(ctx(type), msgs);
    const md = decodeMetadata(e.metadata);
    if (isMetadataProblem(md)) throw new Error(md.detail);
    expect(md.compression).toBe(type);
    expect(md.uncompressedSize).toBe(e.uncompressedBytes);
    expect(e.payload.byteLength).toBeLessThan(e.uncompressedBytes);
    const plain = decompress(type, e.payload, md.uncompressedSize, 1 << 20);
    if (!Buffer.isBuffer(plain)) throw new Error(plain.detail);
    const items = decodeBatch(plain, 20);
    if (isBatchProblem(items)) throw new Error(items.detail);
    expect(items[19].payload.equals(Buffer.alloc(100, 19))).toBe(true);
  });
});

describe('SEND frames', () => {
  it('frames head + payload so a broker-side decoder sees SEND with a valid CRC', () => {
    const e = encodeEntry(ctx(), [msg(5), msg(6)]);
    const op = buildOpSend(42, e, [undefined, undefined], 0);
    const dec = new FrameDecoder(1 << 20);
    const wire = Buffer.concat([op.head, op.payload]);
    // split the bytes arbitrarily: reassembly must not matter
    dec.push(wire.subarray(0, 3));
    dec.push(wire.subarray(3, 17));
    dec.push(wire.subarray(17));
    const frame = dec.next();
    if (!frame || 'kind' in frame) throw new Error('no frame');
    const cmd = decodeCommand(frame.command);
    if (isCommandProblem(cmd)) throw new Error(cmd.detail);
    expect(cmd.send?.producerId).toBe(42n);
    expect(cmd.send?.sequenceId).toBe(5n);
    expect(cmd.send?.numMessages).toBe(2);
    expect(cmd.send?.highestSequenceId).toBe(6n);
    const section = parsePayloadSection(frame.payload!, true);
    if (isPayloadProblem(section)) throw new Error(section.kind);
    expect(section.hadChecksum).toBe(true);
    expect(u64ToNumber(fromBinary(MessageMetadataSchema, section.metadata).sequenceId)).toBe(5);
  });

  it('a flipped payload bit breaks the checksum', () => {
    const op = buildOpSend(1, encodeEntry(ctx(), [msg(1)]), [undefined], 0);
    const wire = Buffer.concat([op.head, op.payload]);
    wire[wire.byteLength - 1] ^= 1;
    const dec = new FrameDecoder(1 << 20);
    dec.push(wire);
    const frame = dec.next();
    if (!frame || 'kind' in frame) throw new Error('no frame');
    const section = parsePayloadSection(frame.payload!, true);
    expect(isPayloadProblem(section) && section.kind).toBe('checksum-mismatch');
  });
});

describe('BatchBuilder', () => {
  it('bounds a batch by count and bytes; an empty batch takes any message', () => {
    const b = new BatchBuilder(3, 20);
    expect(b.hasRoomFor(1000)).toBe(true);
    b.add(msg(1, { payload: Buffer.alloc(8) }));
    expect(b.hasRoomFor(12)).toBe(true);
    expect(b.hasRoomFor(13)).toBe(false);
    b.add(msg(2, { payload: Buffer.alloc(8) }));
    b.add(msg(3, { payload: Buffer.alloc(1) }));
    expect(b.isFull).toBe(true);
    expect(b.drain().map((m) => m.sequenceId)).toEqual([1, 2, 3]);
    expect(b.isEmpty).toBe(true);
    expect(b.bytes).toBe(0);
  });
});
