import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope, readEnvelopeHeader, verifyEnvelope } from './envelope.ts';

describe('entry envelope', () => {
  const header = { ledgerId: 2 ** 40 + 7, entryId: 12, lastAddConfirmed: 11, length: 4096 };

  it('round-trips header and payload', () => {
    const body = encodeEnvelope(header, Buffer.from('hello'));
    const d = decodeEnvelope(body);
    expect(d).not.toBeTypeOf('string');
    if (typeof d === 'string') return;
    expect({ ...d, payload: d.payload.toString() }).toEqual({ ...header, payload: 'hello' });
    expect(readEnvelopeHeader(body)).toEqual(header);
  });

  it('encodes int64 fields exactly like BigInt would, negatives included', () => {
    for (const v of [0, 1, -1, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53) + 1, 123456789012]) {
      const body = encodeEnvelope(
        { ledgerId: v, entryId: 5, lastAddConfirmed: v, length: 0 },
        Buffer.alloc(0),
      );
      expect(body.readBigInt64BE(0)).toBe(BigInt(v));
      expect(body.readBigInt64BE(16)).toBe(BigInt(v));
      expect(readEnvelopeHeader(body)).toEqual({ ledgerId: v, entryId: 5, lastAddConfirmed: v, length: 0 });
    }
  });

  it('detects a flipped bit anywhere, and a short body', () => {
    const body = encodeEnvelope(header, Buffer.from('payload bytes'));
    for (let i = 0; i < body.length; i++) {
      const bad = Buffer.from(body);
      bad[i] ^= 0x10;
      expect(verifyEnvelope(bad)).toBe('digest-mismatch');
    }
    expect(verifyEnvelope(body.subarray(0, 10))).toBe('too-short');
  });
});
