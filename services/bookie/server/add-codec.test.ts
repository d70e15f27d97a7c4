import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  AddEntrySchema,
  AddStreamRequestSchema,
  AddStreamResponseSchema,
  Status,
} from '../../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { decodeAddStreamRequest, encodeAddResults, rawId } from './add-codec.ts';

function request(entries: Parameters<typeof create<typeof AddEntrySchema>>[1][]): Buffer {
  const msg = create(AddStreamRequestSchema, { entries: entries.map((e) => create(AddEntrySchema, e)) });
  return Buffer.from(toBinary(AddStreamRequestSchema, msg));
}

describe('AddStream codec (wire-compatible with bookie.proto)', () => {
  it('decodes what protobuf-es encodes, ids echoed exactly', () => {
    const buf = request([
      { requestId: 1n, ledgerId: 5n, entryId: 0n, masterKey: Buffer.from('k'), body: Buffer.from('body-1') },
      {
        requestId: 2n ** 63n - 1n,
        ledgerId: 2n ** 53n - 1n,
        entryId: 300n,
        body: Buffer.from('b2'),
        recovery: true,
      },
      { requestId: 3n, ledgerId: -1n, entryId: 2n ** 60n },
      {},
    ]);
    const { entries } = decodeAddStreamRequest(buf);
    expect(entries).toHaveLength(4);
    expect(entries[0]).toMatchObject({ ledgerId: 5, entryId: 0, recovery: false });
    expect(entries[0].masterKey.toString()).toBe('k');
    expect(entries[0].body.toString()).toBe('body-1');
    expect(entries[1]).toMatchObject({ ledgerId: 2 ** 53 - 1, entryId: 300, recovery: true });
    expect(entries[2].ledgerId).toBeNaN();
    expect(entries[2].entryId).toBeNaN();
    expect(rawId(buf, entries[2].ledStart, entries[2].ledEnd)).toBe('-1');
    expect(rawId(buf, entries[2].entStart, entries[2].entEnd)).toBe(String(2n ** 60n));
    expect(entries[3]).toMatchObject({ ledgerId: 0, entryId: 0, body: Buffer.alloc(0) });

    const out = encodeAddResults(
      entries.map((e, i) => ({ src: buf, e, status: i === 2 ? Status.BAD_REQUEST : Status.OK })),
    );
    const res = fromBinary(AddStreamResponseSchema, out);
    expect(res.results.map((r) => [r.requestId, r.ledgerId, r.entryId, r.status])).toEqual([
      [1n, 5n, 0n, Status.OK],
      [2n ** 63n - 1n, 2n ** 53n - 1n, 300n, Status.OK],
      [3n, -1n, 2n ** 60n, Status.BAD_REQUEST],
      [0n, 0n, 0n, Status.OK],
    ]);
  });

  it('skips unknown fields and takes the last value of a repeated scalar', () => {
    const entry = Buffer.concat([
      Buffer.from([0x10, 0x07]), // ledger_id = 7
      Buffer.from([0x38, 0x01]), // unknown field 7 (varint)
      Buffer.from([0x45, 1, 2, 3, 4]), // unknown field 8 (fixed32)
      Buffer.from([0x10, 0x09]), // ledger_id = 9 (last wins)
      Buffer.from([0x2a, 0x02, 0x61, 0x62]), // body "ab"
    ]);
    const buf = Buffer.concat([Buffer.from([0x12, 0x01, 0x00]), Buffer.from([0x0a, entry.length]), entry]);
    const { entries } = decodeAddStreamRequest(buf);
    expect(entries).toHaveLength(1);
    expect(entries[0].ledgerId).toBe(9);
    expect(entries[0].body.toString()).toBe('ab');
  });

  it('gives each entry its own master key, sharing one view only between equal keys', () => {
    const keys = ['ka', 'ka', 'kb', '', 'ka', 'longer-key'];
    const buf = request(keys.map((k, i) => ({ ledgerId: BigInt(i), masterKey: Buffer.from(k) })));
    const { entries } = decodeAddStreamRequest(buf);
    expect(entries.map((e) => e.masterKey.toString())).toEqual(keys);
    expect(entries[1].masterKey).toBe(entries[0].masterKey);
    expect(entries[4].masterKey).not.toBe(entries[0].masterKey);
    // The next message gets views of its own buffer.
    const again = decodeAddStreamRequest(request([{ masterKey: Buffer.from('ka') }]));
    expect(again.entries[0].masterKey.buffer).toBe(again.buf.buffer);
    expect(again.entries[0].masterKey).not.toBe(entries[0].masterKey);
  });

  it('rejects malformed bytes with an error instead of reading past the end', () => {
    for (const bad of [
      Buffer.from([0x0a, 0x05, 0x10]),
      Buffer.from([0x0a, 0x03, 0x2a, 0x09, 0x00]),
      Buffer.from([0x0a]),
      Buffer.from([0x0b]),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    ]) {
      expect(() => decodeAddStreamRequest(bad)).toThrow(/malformed/);
    }
    expect(decodeAddStreamRequest(Buffer.alloc(0)).entries).toEqual([]);
  });
});
