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
