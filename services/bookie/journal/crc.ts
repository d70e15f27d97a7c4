/**
 * CRC-32C helpers for the hot path. Short inputs (headers) are computed in JS, which is cheaper
 * than a native call's fixed overhead; long ones use the native implementation.
 */
import { crc32c } from '../../../lib/util/crc32c.ts';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

const JS_MAX_BYTES = 64;

/** crc32c of buf[start, end), continuing from `initial` (same chaining as lib/util/crc32c). */
export function crc32cRange(buf: Uint8Array, start: number, end: number, initial = 0): number {
  if (end - start > JS_MAX_BYTES) return crc32c(buf.subarray(start, end), initial);
  let c = ~initial >>> 0;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Envelope check with one native call: header crc in JS, payload crc natively. */
export function envelopeDigestOk(body: Uint8Array): boolean {
  if (body.byteLength < 36) return false;
  const headerCrc = crc32cRange(body, 0, 32);
  const expected = ((body[32] << 24) | (body[33] << 16) | (body[34] << 8) | body[35]) >>> 0;
  return crc32cRange(body, 36, body.byteLength, headerCrc) === expected;
}
