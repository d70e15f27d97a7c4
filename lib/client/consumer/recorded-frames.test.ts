/**
 * MESSAGE frames assembled byte by byte from the protocol reference's layout (pulsar-protocol.md
 * §1.2, §1.5, §2.4), one per codec, with the compressed forms written by hand from each codec's
 * format (an LZ4 literal-only block, a zlib stored block, a snappy literal, a zstd raw block) so
 * that nothing here comes from the client's own encoder or the compression libraries.
 */
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../util/crc32c.ts';
import { decodeCommand, isCommandProblem } from '../../wire/commands.ts';
import { FrameDecoder } from '../../wire/frame.ts';
import { unackedToAckSet } from '../../wire/message-id.ts';
import { ValidationError } from './commands.ts';
import { decodeMessageFrame, isDecodeProblem } from './message-decoder.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** The reference's observed two-message batch: b1 with property k=x, b2 without. */
const BATCH = hex('0000000a 0a060a016b1201781802 6231 00000002 1802 6232');

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

function adler32(data: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

const handCompressed: Record<string, { id: number; bytes: Buffer }> = {
  NONE: { id: 0, bytes: BATCH },
  // LZ4 block: token (literal length 15 + extension byte), then the literals; no match part.
  LZ4: { id: 1, bytes: Buffer.concat([Buffer.from([0xf0, BATCH.length - 15]), BATCH]) },
  // zlib: header 78 01, one final stored block (LEN, NLEN little endian), Adler-32 big endian.
  ZLIB: {
    id: 2,
    bytes: (() => {
      const len = Buffer.alloc(4);
      len.writeUInt16LE(BATCH.length, 0);
      len.writeUInt16LE(~BATCH.length & 0xffff, 2);
      const adler = Buffer.alloc(4);
      adler.writeUInt32BE(adler32(BATCH), 0);
      return Buffer.concat([hex('7801 01'), len, BATCH, adler]);
    })(),
  },
  // zstd: magic, descriptor (single segment, 1-byte content size), size, one raw last block.
  ZSTD: {
    id: 3,
    bytes: (() => {
      const blockHeader = 1 | (0 << 1) | (BATCH.length << 3);
      return Buffer.concat([
        hex('28b52ffd 20'),
        Buffer.from([BATCH.length]),
        Buffer.from([blockHeader & 0xff, (blockHeader >> 8) & 0xff, (blockHeader >> 16) & 0xff]),
        BATCH,
      ]);
    })(),
  },
  // snappy raw: uncompressed length varint, one literal element (tag (len-1)<<2).
  SNAPPY: {
    id: 4,
    bytes: Buffer.concat([varint(BATCH.length), Buffer.from([(BATCH.length - 1) << 2]), BATCH]),
  },
};

/** MessageMetadata{producer_name "p", sequence_id 0, publish_time 1000, compression, uncompressed_size, num_messages_in_batch 2}. */
function metadata(codec: number): Buffer {
  const parts = [hex('0a0170 1000 18e807')];
  if (codec !== 0)
    parts.push(Buffer.from([0x40, codec]), Buffer.concat([Buffer.from([0x48]), varint(BATCH.length)]));
  parts.push(hex('5802'));
  return Buffer.concat(parts);
}

/** BaseCommand{type MESSAGE, message{consumer_id 1, message_id{12, 34}, ack_set?}} + payload section. */
function messageFrame(codec: number, extraMessageFields = Buffer.alloc(0)): Buffer {
  const messageBody = Buffer.concat([hex('0801 1204 080c 1022'), extraMessageFields]);
  const command = Buffer.concat([hex('0809 4a'), varint(messageBody.length), messageBody]);
  const md = metadata(codec);
  const mdSize = Buffer.alloc(4);
  mdSize.writeUInt32BE(md.length, 0);
  const body = Buffer.concat([
    mdSize,
    md,
    handCompressed[Object.keys(handCompressed).find((k) => handCompressed[k].id === codec)!].bytes,
  ]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32c(body), 0);
  const section = Buffer.concat([hex('0e01'), crc, body]);
  const sizes = Buffer.alloc(8);
  sizes.writeUInt32BE(4 + command.length + section.length, 0);
  sizes.writeUInt32BE(command.length, 4);
  return Buffer.concat([sizes, command, section]);
}

function decodeFrame(frameBytes: Buffer) {
  const dec = new FrameDecoder(1 << 20);
  dec.push(frameBytes);
  const frame = dec.next();
  if (!frame || 'kind' in frame) throw new Error('no frame');
  const cmd = decodeCommand(frame.command);
  if (isCommandProblem(cmd)) throw new Error(cmd.detail);
  return decodeMessageFrame(cmd.message!, frame.payload!, 'persistent://public/default/t', -1, {
    topic: 'x',
  });
}

describe('recorded MESSAGE frames, one per codec', () => {
  it('the CRC32C is the Castagnoli check value', () => {
    expect(crc32c(Buffer.from('123456789')).toString(16)).toBe('e3069283');
  });

  it.each(Object.entries(handCompressed))('%s batch decodes to the two messages', (_name, { id }) => {
    const out = decodeFrame(messageFrame(id));
    if (isDecodeProblem(out)) throw new Error(out.reason);
    expect(out.total).toBe(2);
    expect(out.messages.map((m) => m.text())).toEqual(['b1', 'b2']);
    expect(out.messages[0].properties).toEqual({ k: 'x' });
    expect(out.messages[1].properties).toEqual({});
    expect(out.messages.map((m) => m.messageId.toString())).toEqual(['12:34:-1:0', '12:34:-1:1']);
    expect(out.messages[0].producerName).toBe('p');
    expect(out.messages[0].publishTime).toBe(1000);
  });

  it('skips batch indexes the broker marks acknowledged in ack_set', () => {
    const words = unackedToAckSet([false, true]);
    // CommandMessage field 4 ack_set (repeated int64, unpacked)
    const out = decodeFrame(messageFrame(0, Buffer.concat([Buffer.from([0x20]), varint(Number(words[0]))])));
    if (isDecodeProblem(out)) throw new Error(out.reason);
    expect(out.messages.map((m) => m.text())).toEqual(['b2']);
    expect(out.alreadyAcked).toEqual([true, false]);
  });

  it('reports a corrupted frame as a checksum mismatch', () => {
    const bytes = messageFrame(2);
    bytes[bytes.length - 3] ^= 0xff;
    const out = decodeFrame(bytes);
    expect(isDecodeProblem(out) && out.validationError).toBe(ValidationError.ChecksumMismatch);
  });

  it('reports bad compressed data as a decompression error', () => {
    const frame = messageFrame(4);
    // keep the CRC valid but make the snappy header lie about the size
    const good = decodeFrame(frame);
    expect(isDecodeProblem(good)).toBe(false);
    const md = metadata(4);
    const lying = Buffer.concat([varint(5), Buffer.from([0]), Buffer.from('x')]);
    const mdSize = Buffer.alloc(4);
    mdSize.writeUInt32BE(md.length, 0);
    const body = Buffer.concat([mdSize, md, lying]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32c(body), 0);
    const command = hex('0809 4a08 0801 1204 080c 1022');
    const section = Buffer.concat([hex('0e01'), crc, body]);
    const sizes = Buffer.alloc(8);
    sizes.writeUInt32BE(4 + command.length + section.length, 0);
    sizes.writeUInt32BE(command.length, 4);
    const out = decodeFrame(Buffer.concat([sizes, command, section]));
    expect(isDecodeProblem(out) && out.validationError).toBe(ValidationError.DecompressionError);
  });
});
