import { describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../../lib/ledger/envelope.ts';
import { crc32c } from '../../../lib/util/crc32c.ts';
import { crc32cRange, crc32cRanges, envelopeDigestOk } from './crc.ts';

describe('crc32c helpers', () => {
  it('match the native crc32c for short and long inputs, chained or not', () => {
    for (const size of [0, 1, 7, 8, 9, 31, 32, 64, 65, 127, 128, 129, 1000]) {
      const b = Buffer.from(Array.from({ length: size + 10 }, (_, i) => (i * 37 + size) & 0xff));
      expect(crc32cRange(b, 5, 5 + size)).toBe(crc32c(b.subarray(5, 5 + size)));
      expect(crc32cRange(b, 5, 5 + size, 1234567)).toBe(crc32c(b.subarray(5, 5 + size), 1234567));
    }
  });
  it('chains several ranges like one contiguous input', () => {
    const b = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 91) & 0xff));
    const joined = Buffer.concat([b.subarray(0, 4), b.subarray(8, 16), b.subarray(40, 44)]);
    expect(crc32cRanges(b, [0, 4, 8, 16, 40, 44])).toBe(crc32c(joined));
  });

  it('verifies envelopes like lib/ledger/envelope', () => {
    const env = encodeEnvelope(
      { ledgerId: 3, entryId: 4, lastAddConfirmed: 3, length: 9 },
      Buffer.from('payload!!'),
    );
    expect(envelopeDigestOk(env)).toBe(true);
    for (const i of [0, 20, 33, 40]) {
      const bad = Buffer.from(env);
      bad[i] ^= 1;
      expect(envelopeDigestOk(bad)).toBe(false);
    }
    expect(envelopeDigestOk(env.subarray(0, 20))).toBe(false);
  });
});
