/**
 * The payload section of SEND and MESSAGE frames (pulsar-protocol.md §1.2-1.4):
 *
 *   [0x0e02 | size:u32 | BrokerEntryMetadata]?   (broker→client, only when negotiated; never built here)
 *   [0x0e01 | crc32c:u32]?                         (checksum over everything that follows it)
 *   metadataSize:u32 | MessageMetadata | payload
 *
 * A stored entry is the section from the 0x0e01 magic on, exactly as the producer sent it; a
 * broker forwards it unchanged so consumers can verify the producer's checksum.
 */
import { crc32c } from '../util/crc32c.ts';

export const MAGIC_CRC32C = 0x0e01;
export const MAGIC_BROKER_ENTRY_METADATA = 0x0e02;
/** Magic (2) + checksum (4). */
export const CHECKSUM_SECTION_BYTES = 6;

export interface PayloadSection {
  /** True when the section carried a 0x0e01 checksum. */
  readonly hadChecksum: boolean;
  /** The checksum as sent (0 when absent). */
  readonly checksum: number;
  /** Serialized MessageMetadata. */
  readonly metadata: Buffer;
  /** Message bytes (a batch payload when the metadata says so; possibly compressed). */
  readonly data: Buffer;
  /**
   * The section from the checksum magic on: the bytes to store and forward. When the sender
   * omitted the checksum (protocol < 6) one is computed so every stored entry has the same shape.
   */
  readonly entry: Buffer;
  /** Serialized BrokerEntryMetadata when present (broker→client frames only). */
  readonly brokerEntryMetadata?: Buffer;
}

export type PayloadProblem =
  | { readonly kind: 'truncated'; readonly detail: string }
  | { readonly kind: 'checksum-mismatch'; readonly expected: number; readonly actual: number };

/**
 * Split and check a payload section. `verifyChecksum` false skips the CRC (e.g. a client that
 * trusts its broker); the structure is always checked.
 */
export function parsePayloadSection(section: Buffer, verifyChecksum = true): PayloadSection | PayloadProblem {
  let offset = 0;
  let brokerEntryMetadata: Buffer | undefined;
  if (section.byteLength >= 2 && section.readUInt16BE(0) === MAGIC_BROKER_ENTRY_METADATA) {
    if (section.byteLength < 6) return { kind: 'truncated', detail: 'broker entry metadata size' };
    const size = section.readUInt32BE(2);
    if (section.byteLength < 6 + size) return { kind: 'truncated', detail: 'broker entry metadata' };
    brokerEntryMetadata = section.subarray(6, 6 + size);
    offset = 6 + size;
  }
  let hadChecksum = false;
  let checksum = 0;
  if (section.byteLength >= offset + 2 && section.readUInt16BE(offset) === MAGIC_CRC32C) {
    if (section.byteLength < offset + CHECKSUM_SECTION_BYTES)
      return { kind: 'truncated', detail: 'checksum' };
    hadChecksum = true;
    checksum = section.readUInt32BE(offset + 2);
    offset += CHECKSUM_SECTION_BYTES;
  }
  const body = section.subarray(offset);
  if (body.byteLength < 4) return { kind: 'truncated', detail: 'metadata size' };
  const metadataSize = body.readUInt32BE(0);
  if (metadataSize > body.byteLength - 4) return { kind: 'truncated', detail: 'metadata' };
  if (hadChecksum && verifyChecksum) {
    const actual = crc32c(body);
    if (actual !== checksum) return { kind: 'checksum-mismatch', expected: checksum, actual };
  }
  const metadata = body.subarray(4, 4 + metadataSize);
  const data = body.subarray(4 + metadataSize);
  const entry = hadChecksum ? section.subarray(offset - CHECKSUM_SECTION_BYTES) : withChecksum(body);
  return { hadChecksum, checksum, metadata, data, entry, brokerEntryMetadata };
}

export function isPayloadProblem<T extends object>(x: T | PayloadProblem): x is PayloadProblem {
  return 'kind' in x;
}

/** Build a payload section (with checksum) from serialized metadata and message bytes. */
export function encodePayloadSection(metadata: Uint8Array, data: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(CHECKSUM_SECTION_BYTES + 4 + metadata.byteLength + data.byteLength);
  buf.writeUInt16BE(MAGIC_CRC32C, 0);
  buf.writeUInt32BE(metadata.byteLength, CHECKSUM_SECTION_BYTES);
  buf.set(metadata, CHECKSUM_SECTION_BYTES + 4);
  buf.set(data, CHECKSUM_SECTION_BYTES + 4 + metadata.byteLength);
  buf.writeUInt32BE(crc32c(buf.subarray(CHECKSUM_SECTION_BYTES)), 2);
  return buf;
}

/** Prefix `body` (metadataSize | metadata | data) with the checksum magic and its CRC. */
function withChecksum(body: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(CHECKSUM_SECTION_BYTES + body.byteLength);
  buf.writeUInt16BE(MAGIC_CRC32C, 0);
  buf.writeUInt32BE(crc32c(body), 2);
  buf.set(body, CHECKSUM_SECTION_BYTES);
  return buf;
}

/**
 * The entry without its checksum section (for consumers older than protocol v11, which
 * mishandle checksums). `entry` must start with the checksum magic.
 */
export function stripChecksum(entry: Buffer): Buffer {
  return entry.byteLength >= CHECKSUM_SECTION_BYTES && entry.readUInt16BE(0) === MAGIC_CRC32C
    ? entry.subarray(CHECKSUM_SECTION_BYTES)
    : entry;
}

/** Split a stored entry (from the magic on) into metadata and data without verifying the CRC. */
export function splitEntry(entry: Buffer): { metadata: Buffer; data: Buffer } | PayloadProblem {
  const parsed = parsePayloadSection(entry, false);
  if (isPayloadProblem(parsed)) return parsed;
  return { metadata: parsed.metadata, data: parsed.data };
}
