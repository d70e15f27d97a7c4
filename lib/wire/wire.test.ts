import { describe, expect, it } from 'vitest';
import { BaseCommand_Type } from '../gen/pulsar/PulsarApi_pb.ts';
import { crc32c } from '../util/crc32c.ts';
import { decodeBatch, encodeBatch, isBatchProblem } from './batch.ts';
import {
  decodeCommand,
  encodeCommand,
  encodePayloadCommand,
  isCommandProblem,
  serializeCommand,
} from './commands.ts';
import { CompressionType, compress, decompress, isCompressionProblem } from './compression.ts';
import { FrameDecoder, encodeSimpleFrame } from './frame.ts';
import { keySharedSlot, murmur3_32 } from './hash.ts';
import {
  ackSetToUnacked,
  fromMessageIdData,
  isEarliest,
  isLatest,
  numberToU64,
  toMessageIdData,
  unackedToAckSet,
} from './message-id.ts';
import { decodeMetadata, encodeMetadata, entryFacts, isMetadataProblem } from './metadata.ts';
import { encodePayloadSection, isPayloadProblem, parsePayloadSection, stripChecksum } from './payload.ts';
import { isTopicNameProblem, parseTopicName, partitionTopicName } from './topic-name.ts';
import { create } from '@bufbuild/protobuf';
import { MessageIdDataSchema } from '../gen/pulsar/PulsarApi_pb.ts';

/** Deterministic PRNG for the chunking tests. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('frames', () => {
  it('reassembles frames split and merged at every boundary', () => {
    const frames: Buffer[] = [];
    for (let i = 0; i < 50; i++) {
      const md = encodeMetadata({ producerName: 'p', sequenceId: BigInt(i), publishTime: 1n });
      const section = encodePayloadSection(md, Buffer.alloc(i * 7, i));
      const [head, body] = encodePayloadCommand(
        { type: BaseCommand_Type.SEND, send: { producerId: 0n, sequenceId: BigInt(i) } },
        section,
      );
      frames.push(
        i % 3 === 0 ? encodeCommand({ type: BaseCommand_Type.PING, ping: {} }) : Buffer.concat([head, body]),
      );
    }
    const stream = Buffer.concat(frames);
    const next = rng(7);
    for (let round = 0; round < 20; round++) {
      const dec = new FrameDecoder(1 << 20);
      const got: number[] = [];
      let offset = 0;
      while (offset < stream.byteLength) {
        const n = 1 + Math.floor(next() * 300);
        dec.push(stream.subarray(offset, offset + n));
        offset += n;
        for (let f = dec.next(); f !== undefined; f = dec.next()) {
          if ('kind' in f) throw new Error(f.kind);
          const cmd = decodeCommand(f.command);
          if (isCommandProblem(cmd)) throw new Error(cmd.detail);
          got.push(cmd.type);
          if (cmd.type === BaseCommand_Type.SEND) {
            const p = parsePayloadSection(f.payload!);
            expect(isPayloadProblem(p)).toBe(false);
          } else expect(f.payload).toBeUndefined();
        }
      }
      expect(got).toHaveLength(50);
      expect(dec.bufferedBytes).toBe(0);
    }
  });

  it('refuses a frame larger than the limit before buffering it', () => {
    const dec = new FrameDecoder(1000);
    const head = Buffer.alloc(8);
    head.writeUInt32BE(5000, 0);
    head.writeUInt32BE(10, 4);
    dec.push(head);
    expect(dec.next()).toMatchObject({ kind: 'frame-too-large', totalSize: 5000 });
    dec.push(Buffer.alloc(10));
    expect(dec.next()).toMatchObject({ kind: 'frame-too-large' });
  });

  it('refuses a command size larger than the frame', () => {
    const dec = new FrameDecoder(1000);
    const head = Buffer.alloc(8);
    head.writeUInt32BE(10, 0);
    head.writeUInt32BE(20, 4);
    dec.push(head);
    expect(dec.next()).toMatchObject({ kind: 'bad-command-size' });
  });
});

describe('commands', () => {
  it('round-trips a command and reports missing bodies, fields and unknown types', () => {
    const frame = encodeCommand({
      type: BaseCommand_Type.SUBSCRIBE,
      subscribe: { topic: 't', subscription: 's', subType: 1, consumerId: 3n, requestId: 9n },
    });
    const cmd = decodeCommand(frame.subarray(8));
    expect(isCommandProblem(cmd)).toBe(false);
    if (!isCommandProblem(cmd)) expect(cmd.subscribe?.consumerId).toBe(3n);

    expect(() => serializeCommand({ type: BaseCommand_Type.SUCCESS })).toThrow(/without its body/);
    // type=SUCCESS with no body
    expect(decodeCommand(Buffer.from([0x08, 13]))).toMatchObject({ kind: 'missing-body' });
    // type=1000 (not a protocol type)
    expect(decodeCommand(Buffer.from([0x08, 0xe8, 0x07]))).toMatchObject({ kind: 'unknown-type' });
    expect(decodeCommand(Buffer.from([0xff, 0xff, 0xff]))).toMatchObject({ kind: 'undecodable' });
    const noReq = serializeCommand({ type: BaseCommand_Type.LOOKUP, lookupTopic: { topic: 'x' } });
    expect(decodeCommand(noReq)).toMatchObject({
      kind: 'missing-field',
      detail: expect.stringContaining('requestId'),
    });
  });

  it('encodes a PING exactly as the protocol expects', () => {
    expect(encodeCommand({ type: BaseCommand_Type.PING, ping: {} }).toString('hex')).toBe(
      '00000009000000050812920100',
    );
    expect(encodeSimpleFrame(Buffer.alloc(0)).toString('hex')).toBe('0000000400000000');
  });
});

describe('payload sections', () => {
  const md = encodeMetadata({ producerName: 'prod', sequenceId: 1n, publishTime: 123n });
  it('verifies the CRC32C over metadataSize|metadata|payload', () => {
    const section = encodePayloadSection(md, Buffer.from('hello'));
    expect(section.readUInt16BE(0)).toBe(0x0e01);
    expect(section.readUInt32BE(2)).toBe(crc32c(section.subarray(6)));
    const parsed = parsePayloadSection(section);
    if (isPayloadProblem(parsed)) throw new Error(parsed.kind);
    expect(parsed.data.toString()).toBe('hello');
    expect(parsed.entry.equals(section)).toBe(true);
    const bad = Buffer.from(section);
    bad[bad.length - 1] ^= 1;
    expect(parsePayloadSection(bad)).toMatchObject({ kind: 'checksum-mismatch' });
    expect(isPayloadProblem(parsePayloadSection(bad, false))).toBe(false);
    expect(stripChecksum(section).equals(section.subarray(6))).toBe(true);
  });

  it('adds a checksum to sections sent without one and rejects truncation', () => {
    const body = encodePayloadSection(md, Buffer.from('x')).subarray(6);
    const parsed = parsePayloadSection(body);
    if (isPayloadProblem(parsed)) throw new Error(parsed.kind);
    expect(parsed.hadChecksum).toBe(false);
    expect(parsed.entry.subarray(6).equals(body)).toBe(true);
    expect(parsed.entry.readUInt32BE(2)).toBe(crc32c(body));
    expect(parsePayloadSection(Buffer.from([0x0e, 0x01, 0, 0]))).toMatchObject({ kind: 'truncated' });
    const lying = Buffer.from(body);
    lying.writeUInt32BE(1000, 0);
    expect(parsePayloadSection(lying)).toMatchObject({ kind: 'truncated' });
  });

  it('skips broker entry metadata', () => {
    const section = encodePayloadSection(md, Buffer.from('z'));
    const bem = Buffer.concat([Buffer.from([0x0e, 0x02, 0, 0, 0, 2, 0x08, 0x01]), section]);
    const parsed = parsePayloadSection(bem);
    if (isPayloadProblem(parsed)) throw new Error(parsed.kind);
    expect(parsed.brokerEntryMetadata?.toString('hex')).toBe('0801');
    expect(parsed.entry.equals(section)).toBe(true);
  });
});

describe('metadata and batches', () => {
  it('decodes the batch layout pulsar-flex sends', () => {
    const observed = Buffer.from('0000000a0a060a016b120178180262310000000218026232', 'hex');
    const msgs = decodeBatch(observed, 2);
    if (isBatchProblem(msgs)) throw new Error(msgs.detail);
    expect(msgs.map((m) => m.payload.toString())).toEqual(['b1', 'b2']);
    expect(msgs[0].metadata.properties[0]).toMatchObject({ key: 'k', value: 'x' });
    const again = encodeBatch([
      { metadata: { properties: [{ key: 'k', value: 'x' }] }, payload: Buffer.from('b1') },
      { payload: Buffer.from('b2') },
    ]);
    expect(again.equals(observed)).toBe(true);
    expect(decodeBatch(observed.subarray(0, 20), 2)).toMatchObject({ kind: 'bad-batch' });
  });

  it('extracts routing facts', () => {
    const facts = entryFacts(
      decodeMetadata(
        encodeMetadata({
          producerName: 'p',
          sequenceId: 5n,
          publishTime: 10n,
          numMessagesInBatch: 1,
          partitionKey: 'k1',
          deliverAtTime: 99n,
        }),
      ) as never,
    );
    expect(facts).toMatchObject({ numMessages: 1, batched: true, deliverAtMs: 99, sequenceId: 5 });
    expect(Buffer.from(facts.stickyKey!).toString()).toBe('k1');
    const plain = entryFacts(
      decodeMetadata(encodeMetadata({ producerName: 'p', sequenceId: 1n, publishTime: 1n })) as never,
    );
    expect(plain).toMatchObject({
      numMessages: 1,
      batched: false,
      stickyKey: undefined,
      deliverAtMs: undefined,
    });
    expect(isMetadataProblem(decodeMetadata(Buffer.from([0x12, 0x01])))).toBe(true);
  });
});

describe('compression', () => {
  const data = Buffer.from('pulsar '.repeat(500));
  for (const type of [
    CompressionType.NONE,
    CompressionType.LZ4,
    CompressionType.ZLIB,
    CompressionType.ZSTD,
    CompressionType.SNAPPY,
  ]) {
    it(`round-trips codec ${type} and bounds the output`, () => {
      const c = compress(type, data);
      if (type !== CompressionType.NONE) expect(c.byteLength).toBeLessThan(data.byteLength);
      const d = decompress(type, c, data.byteLength, 1 << 20);
      if (isCompressionProblem(d)) throw new Error(d.detail);
      expect(d.equals(data)).toBe(true);
      expect(isCompressionProblem(decompress(type, c, data.byteLength, 100))).toBe(true);
      if (type !== CompressionType.NONE)
        expect(isCompressionProblem(decompress(type, c, 10, 1 << 20))).toBe(true);
    });
  }
  it('LZ4 output is a raw block (no size prefix)', () => {
    const c = compress(CompressionType.LZ4, Buffer.from('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'));
    // a raw block starts with a token byte, not the little-endian length 36
    expect(c.readUInt32LE(0)).not.toBe(36);
  });
});

describe('ids, names and hashing', () => {
  it('converts sentinels and real ids', () => {
    const earliest = fromMessageIdData(
      create(MessageIdDataSchema, { ledgerId: 2n ** 64n - 1n, entryId: 2n ** 64n - 1n }),
    );
    expect(isEarliest(earliest)).toBe(true);
    const latest = fromMessageIdData(
      create(MessageIdDataSchema, { ledgerId: 2n ** 63n - 1n, entryId: 2n ** 63n - 1n }),
    );
    expect(isLatest(latest)).toBe(true);
    expect(numberToU64(latest.ledgerId)).toBe(2n ** 63n - 1n);
    const id = toMessageIdData({ ledgerId: 12, entryId: 34, partition: 2 });
    expect(fromMessageIdData(create(MessageIdDataSchema, id))).toEqual({
      ledgerId: 12,
      entryId: 34,
      partition: 2,
      batchIndex: -1,
    });
  });

  it('converts ack sets', () => {
    const unacked = Array.from({ length: 70 }, (_, i) => i % 3 === 0);
    expect(ackSetToUnacked(unackedToAckSet(unacked), 70)).toEqual(unacked);
    expect(unackedToAckSet([true, false, true])).toEqual([5n]);
  });

  it('normalises topic names', () => {
    expect(parseTopicName('x')).toMatchObject({ full: 'persistent://public/default/x', partitionIndex: -1 });
    expect(parseTopicName('t/n/x')).toMatchObject({ full: 'persistent://t/n/x' });
    const p = parseTopicName('non-persistent://t/n/orders-partition-12');
    expect(p).toMatchObject({
      domain: 'non-persistent',
      partitionIndex: 12,
      partitionedName: 'non-persistent://t/n/orders',
    });
    if (!isTopicNameProblem(p))
      expect(partitionTopicName(p, 3)).toBe('non-persistent://t/n/orders-partition-3');
    for (const bad of [
      '',
      'a/b',
      'persistent://a/b/c/d',
      'http://a/b/c',
      'persistent://a b/c/d',
      'p://x',
      'x\u0000y',
      'a/b/',
    ]) {
      expect(isTopicNameProblem(parseTopicName(bad))).toBe(true);
    }
    expect(parseTopicName('x-partition-01')).toMatchObject({ partitionIndex: -1 });
  });

  it('murmur3_32 matches reference vectors', () => {
    const enc = (s: string) => Buffer.from(s);
    expect(murmur3_32(enc(''))).toBe(0);
    expect(murmur3_32(enc(''), 1)).toBe(0x514e28b7);
    expect(murmur3_32(enc('hello'))).toBe(0x248bfa47);
    expect(murmur3_32(enc('The quick brown fox jumps over the lazy dog'))).toBe(0x2e4ff723);
    expect(keySharedSlot(enc('hello'))).toBe(0x248bfa47 % 65536);
  });
});
