/**
 * CRC-32C helpers for the hot path. Short inputs (headers) are computed in JS with slicing-by-8
 * tables, cheaper than a native call's fixed overhead; long ones use the native implementation.
 */
import { crc32c } from '../../../lib/util/crc32c.ts';

const TABLES = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) t[k][n] = (t[k - 1][n] >>> 8) ^ t[0][t[k - 1][n] & 0xff];
  }
  return t;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES;

const JS_MAX_BYTES = 128;

/** crc32c of buf[start, end), continuing from `initial` (same chaining as lib/util/crc32c). */
export function crc32cRange(buf: Uint8Array, start: number, end: number, initial = 0): number {
  if (end - start > JS_MAX_BYTES) return crc32c(buf.subarray(start, end), initial);
  return ~crc32cJs(buf, start, end, ~initial >>> 0) >>> 0;
}

/** Raw (not inverted) crc32c update in JS. */
function crc32cJs(buf: Uint8Array, start: number, end: number, c: number): number {
  let i = start;
  for (; i + 8 <= end; i += 8) {
    c ^= buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    c =
      T7[c & 0xff] ^
      T6[(c >>> 8) & 0xff] ^
      T5[(c >>> 16) & 0xff] ^
      T4[c >>> 24] ^
      T3[buf[i + 4]] ^
      T2[buf[i + 5]] ^
      T1[buf[i + 6]] ^
      T0[buf[i + 7]];
  }
  for (; i < end; i++) c = T0[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return c >>> 0;
}

/** crc32c over several ranges of one buffer, as if they were contiguous (all short). */
export function crc32cRanges(buf: Uint8Array, ranges: readonly number[]): number {
  let c = 0xffffffff;
  for (let r = 0; r < ranges.length; r += 2) c = crc32cJs(buf, ranges[r], ranges[r + 1], c);
  return ~c >>> 0;
}

/** Envelope check with one native call: header crc in JS, payload crc natively. */
export function envelopeDigestOk(body: Uint8Array): boolean {
  if (body.byteLength < 36) return false;
  const headerCrc = crc32cRange(body, 0, 32);
  const expected = ((body[32] << 24) | (body[33] << 16) | (body[34] << 8) | body[35]) >>> 0;
  return crc32cRange(body, 36, body.byteLength, headerCrc) === expected;
}
