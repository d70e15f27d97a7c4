import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  AddStreamRequestSchema,
  AddStreamResponseSchema,
  Status,
} from '../../gen/magnetar/bookie/v1/bookie_pb.ts';
import { decodeAddStreamResponse, encodeAddStreamRequest } from './add-stream-codec.ts';

describe('AddStream wire codec', () => {
  it('encodes what the generated schema decodes, field for field', () => {
    const entries = [
      {
        requestId: 1,
        ledgerId: 0,
        entryId: 0,
        masterKey: new Uint8Array(),
        body: new Uint8Array(),
        recovery: false,
      },
      {
        requestId: 127,
        ledgerId: 128,
        entryId: 2 ** 40 + 3,
        masterKey: Buffer.from('pw'),
        body: Buffer.alloc(300, 9),
        recovery: true,
      },
      {
        requestId: 2 ** 53 - 1,
        ledgerId: 2 ** 53 - 1,
        entryId: 16384,
        masterKey: Buffer.from('k'),
        body: Buffer.from('x'),
        recovery: false,
      },
    ];
    const decoded = fromBinary(AddStreamRequestSchema, encodeAddStreamRequest(entries));
    expect(decoded.entries.length).toBe(3);
    decoded.entries.forEach((d, i) => {
      const e = entries[i];
      expect(d.requestId).toBe(BigInt(e.requestId));
      expect(d.ledgerId).toBe(BigInt(e.ledgerId));
      expect(d.entryId).toBe(BigInt(e.entryId));
      expect(Buffer.from(d.masterKey)).toEqual(Buffer.from(e.masterKey));
      expect(Buffer.from(d.body)).toEqual(Buffer.from(e.body));
      expect(d.recovery).toBe(e.recovery);
    });
  });

  it('decodes what the generated schema encodes, and rejects truncated input', () => {
    const msg = create(AddStreamResponseSchema, {
      results: [
        { requestId: 5n, ledgerId: 7n, entryId: 9n, status: Status.OK },
        { requestId: 2n ** 40n, ledgerId: 7n, entryId: 10n, status: Status.FENCED },
        { requestId: 6n, status: Status.UNSPECIFIED },
      ],
    });
    const bytes = toBinary(AddStreamResponseSchema, msg);
    expect(decodeAddStreamResponse(bytes)).toEqual([
      { requestId: 5, status: Status.OK },
      { requestId: 2 ** 40, status: Status.FENCED },
      { requestId: 6, status: 0 },
    ]);
    expect(() => decodeAddStreamResponse(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
  });
});
