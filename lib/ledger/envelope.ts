/**
 * The entry envelope every ledger entry travels and rests in (internals.md §1.4), built by the
 * ledger client and verified end to end (client on read, bookie on add and on read):
 *
 *   ledgerId:int64 BE | entryId:int64 BE | lastAddConfirmed:int64 BE | length:int64 BE   (32 bytes)
 *   crc32c:uint32 BE over (header ++ payload)                                             (4 bytes)
 *   payload
 *
 * `length` is the ledger's total payload length up to and including this entry.
 */
import { crc32c } from '../util/crc32c.ts';

export const ENVELOPE_HEADER_BYTES = 32;
export const ENVELOPE_DIGEST_BYTES = 4;
export const ENVELOPE_OVERHEAD_BYTES = ENVELOPE_HEADER_BYTES + ENVELOPE_DIGEST_BYTES;

export interface EnvelopeHeader {
  readonly ledgerId: number;
  readonly entryId: number;
  readonly lastAddConfirmed: number;
  readonly length: number;
}

export interface DecodedEnvelope extends EnvelopeHeader {
  readonly payload: Buffer;
}

export type EnvelopeProblem = 'too-short' | 'digest-mismatch';

export function encodeEnvelope(header: EnvelopeHeader, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(ENVELOPE_OVERHEAD_BYTES + payload.byteLength);
  writeInt64(buf, header.ledgerId, 0);
  writeInt64(buf, header.entryId, 8);
  writeInt64(buf, header.lastAddConfirmed, 16);
  writeInt64(buf, header.length, 24);
  buf.set(payload, ENVELOPE_OVERHEAD_BYTES);
  const digest = crc32c(payload, crc32c(buf.subarray(0, ENVELOPE_HEADER_BYTES)));
  buf.writeUInt32BE(digest, ENVELOPE_HEADER_BYTES);
  return buf;
}

/** Parse the header only (no digest check). Undefined if the body is too short. */
export function readEnvelopeHeader(body: Uint8Array): EnvelopeHeader | undefined {
  if (body.byteLength < ENVELOPE_OVERHEAD_BYTES) return undefined;
  const buf = asBuffer(body);
  return {
    ledgerId: readInt64(buf, 0),
    entryId: readInt64(buf, 8),
    lastAddConfirmed: readInt64(buf, 16),
    length: readInt64(buf, 24),
  };
}

/** Check the digest. */
export function verifyEnvelope(body: Uint8Array): EnvelopeProblem | undefined {
  if (body.byteLength < ENVELOPE_OVERHEAD_BYTES) return 'too-short';
  const buf = asBuffer(body);
  const expected = buf.readUInt32BE(ENVELOPE_HEADER_BYTES);
  const actual = crc32c(
    buf.subarray(ENVELOPE_OVERHEAD_BYTES),
    crc32c(buf.subarray(0, ENVELOPE_HEADER_BYTES)),
  );
  return expected === actual ? undefined : 'digest-mismatch';
}

/** Verify and split; returns the problem instead when the envelope is bad. */
export function decodeEnvelope(body: Uint8Array): DecodedEnvelope | EnvelopeProblem {
  const problem = verifyEnvelope(body);
  if (problem) return problem;
  const header = readEnvelopeHeader(body)!;
  return { ...header, payload: asBuffer(body).subarray(ENVELOPE_OVERHEAD_BYTES) };
}

const TWO_32 = 4294967296;

/** Big-endian int64 of a safe integer (two 32-bit writes: no BigInt on the hot path). */
function writeInt64(buf: Buffer, value: number, offset: number): void {
  const hi = Math.floor(value / TWO_32);
  buf.writeInt32BE(hi, offset);
  buf.writeUInt32BE(value - hi * TWO_32, offset + 4);
}

/** Exact for |value| < 2^53; beyond that (never written by us) precision is lost, as with Number(). */
function readInt64(buf: Buffer, offset: number): number {
  return buf.readInt32BE(offset) * TWO_32 + buf.readUInt32BE(offset + 4);
}

function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}
