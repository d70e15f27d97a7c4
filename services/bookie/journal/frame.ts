/**
 * Frame format shared by the journal, the index change log and the index snapshot. A frame is
 * self-checking, and carries the id of the file it was written for, so a frame left over from an
 * earlier use of a recycled file is never mistaken for a current one:
 *
 *   u32 LE frameBytes (16-byte header + payload) | u32 LE crc32c of bytes [8, frameBytes)
 *   u32 LE fileId (low 32 bits)                   | u8 type | u8 flags | u16 reserved (0)
 *   payload
 *
 * A frame with flag SELF_CHECKED carries a payload that checks itself (an entry envelope with its
 * own crc32c): its frame crc covers the length, the header and the envelope's digest, and the
 * scanner verifies the envelope with that digest.
 * That saves hashing every entry twice on the add path; a torn payload still fails its digest.
 *
 * Scanning is pure: `scanFrames` walks a buffer and says where the valid frames end and why.
 */
import { crc32c } from '../../../lib/util/crc32c.ts';
import { crc32cRanges, envelopeDigestOk } from './crc.ts';

export const FRAME_HEADER_BYTES = 16;
export const FRAME_FLAG_SELF_CHECKED = 1;
const SELF_CHECKED_PREFIX_BYTES = 36;

/**
 * The crc of a self-checked frame binds its length, file id and type to the envelope's own
 * digest (bytes 32..36 of the envelope), which covers the rest: a stale envelope of a recycled
 * file under a fresh header fails it.
 */
function selfCheckedCrc(buf: Uint8Array, off: number, total: number): number {
  const digestEnd = off + Math.min(total, FRAME_HEADER_BYTES + SELF_CHECKED_PREFIX_BYTES);
  return crc32cRanges(buf, [
    off,
    off + 4,
    off + 8,
    off + FRAME_HEADER_BYTES,
    Math.max(off + 16, digestEnd - 4),
    digestEnd,
  ]);
}

/** Seal a frame whose payload (an entry envelope) carries its own digest. */
export function sealSelfCheckedFrame(
  buf: Buffer,
  offset: number,
  payloadBytes: number,
  fileId: number,
  type: number,
): number {
  const total = FRAME_HEADER_BYTES + payloadBytes;
  buf.writeUInt32LE(total, offset);
  buf.writeUInt32LE(fileId >>> 0, offset + 8);
  buf[offset + 12] = type;
  buf[offset + 13] = FRAME_FLAG_SELF_CHECKED;
  buf[offset + 14] = 0;
  buf[offset + 15] = 0;
  buf.writeUInt32LE(selfCheckedCrc(buf, offset, total), offset + 4);
  return total;
}

export interface Frame {
  readonly type: number;
  readonly flags: number;
  /** Offset of the frame in the scanned buffer. */
  readonly offset: number;
  readonly payload: Buffer;
}

/** Why a scan stopped. */
export type StopReason =
  | 'end' // ran out of bytes exactly at a frame boundary
  | 'zeros' // a zero length: preallocated space never written
  | 'short' // the frame claims more bytes than the buffer holds (torn, or the next chunk needed)
  | 'bad-length' // a length below the header size or above the maximum
  | 'bad-crc' // torn or corrupt frame
  | 'other-file'; // a valid frame of another file: stale data of a recycled file

export interface ScanResult {
  readonly frames: Frame[];
  /** Offset just after the last valid frame. */
  readonly end: number;
  readonly stop: StopReason;
}

export function frameBytes(payloadBytes: number): number {
  return FRAME_HEADER_BYTES + payloadBytes;
}

/** Write the frame header for a payload already placed at `offset + 16` and seal it with the crc. */
export function sealFrame(
  buf: Buffer,
  offset: number,
  payloadBytes: number,
  fileId: number,
  type: number,
): number {
  const total = FRAME_HEADER_BYTES + payloadBytes;
  buf.writeUInt32LE(total, offset);
  buf.writeUInt32LE(fileId >>> 0, offset + 8);
  buf[offset + 12] = type;
  buf[offset + 13] = 0;
  buf.writeUInt16LE(0, offset + 14);
  buf.writeUInt32LE(crc32c(buf.subarray(offset + 8, offset + total)), offset + 4);
  return total;
}

/** Encode a whole frame into a new buffer (control records, index records; not the hot path). */
export function encodeFrame(fileId: number, type: number, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  buf.set(payload, FRAME_HEADER_BYTES);
  sealFrame(buf, 0, payload.byteLength, fileId, type);
  return buf;
}

/**
 * Read the valid frames of `fileId` in `buf[start, limit)`, stopping at the first frame that is
 * not one. The caller decides what a stop means (torn tail, corruption, need more bytes).
 */
export function scanFrames(
  buf: Buffer,
  fileId: number,
  maxFrameBytes: number,
  start = 0,
  limit = buf.length,
): ScanResult {
  const frames: Frame[] = [];
  let off = start;
  const want = fileId >>> 0;
  for (;;) {
    if (off === limit) return { frames, end: off, stop: 'end' };
    if (limit - off < FRAME_HEADER_BYTES) {
      return { frames, end: off, stop: isZero(buf, off, limit) ? 'zeros' : 'short' };
    }
    const total = buf.readUInt32LE(off);
    if (total === 0) return { frames, end: off, stop: 'zeros' };
    if (total < FRAME_HEADER_BYTES || total > maxFrameBytes) return { frames, end: off, stop: 'bad-length' };
    if (total > limit - off) return { frames, end: off, stop: 'short' };
    const crc = buf.readUInt32LE(off + 4);
    const selfChecked = (buf[off + 13] & FRAME_FLAG_SELF_CHECKED) !== 0;
    if (selfChecked) {
      if (selfCheckedCrc(buf, off, total) !== crc) return { frames, end: off, stop: 'bad-crc' };
      if (!envelopeDigestOk(buf.subarray(off + FRAME_HEADER_BYTES, off + total))) {
        return { frames, end: off, stop: 'bad-crc' };
      }
    } else if (crc32c(buf.subarray(off + 8, off + total)) !== crc)
      return { frames, end: off, stop: 'bad-crc' };
    if (buf.readUInt32LE(off + 8) !== want) return { frames, end: off, stop: 'other-file' };
    frames.push({
      type: buf[off + 12],
      flags: buf[off + 13],
      offset: off,
      payload: buf.subarray(off + FRAME_HEADER_BYTES, off + total),
    });
    off += total;
  }
}

function isZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Read a signed 64-bit big-endian integer as a number when it is a safe integer, else NaN. */
export function readSafeInt64BE(buf: Uint8Array, off: number): number {
  const hi = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
  const lo = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
  if (hi === -1 && lo === 0xffffffff) return -1;
  if (hi < 0 || hi > 0x1fffff) return Number.NaN;
  return hi * 0x100000000 + lo;
}

/** Little-endian safe-integer helpers for our own records (ids are < 2^53, -1 allowed). */
export function writeInt53LE(buf: Buffer, value: number, off: number): void {
  if (value === -1) {
    buf.writeInt32LE(-1, off);
    buf.writeInt32LE(-1, off + 4);
    return;
  }
  buf.writeUInt32LE((value % 0x100000000) >>> 0, off);
  buf.writeUInt32LE(Math.floor(value / 0x100000000), off + 4);
}

export function readInt53LE(buf: Buffer, off: number): number {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readInt32LE(off + 4);
  if (hi === -1 && lo === 0xffffffff) return -1;
  return hi * 0x100000000 + lo;
}
