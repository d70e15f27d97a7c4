/**
 * Payload compression with Pulsar's codec ids (CompressionType: NONE 0, LZ4 1, ZLIB 2, ZSTD 3,
 * SNAPPY 4). The whole (batch) payload is compressed as one unit and MessageMetadata carries
 * `uncompressed_size`. Formats match the Java client's:
 *  - LZ4: a raw LZ4 block, no size prefix (the size is in the metadata). lz4-napi's block API
 *    adds a 4-byte little-endian size prefix, which we strip on compress and add on decompress.
 *  - ZLIB: zlib stream (deflate with zlib header), node:zlib.
 *  - ZSTD: a zstd frame, node:zlib (Node ≥ 22.15).
 *  - SNAPPY: raw snappy block.
 * Decompression is bounded by the caller's size limit (no decompression bombs).
 */
import * as lz4 from 'lz4-napi';
import * as snappy from 'snappy';
import * as zlib from 'node:zlib';
import { CompressionType } from '../gen/pulsar/PulsarApi_pb.ts';

export { CompressionType };

export type CompressionProblem = { readonly kind: 'decompression-failed'; readonly detail: string };

export function isKnownCompression(type: number): boolean {
  return type >= CompressionType.NONE && type <= CompressionType.SNAPPY;
}

export function compress(type: CompressionType, data: Uint8Array): Buffer {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  switch (type) {
    case CompressionType.NONE:
      return buf;
    case CompressionType.LZ4:
      return lz4.compressSync(buf).subarray(4);
    case CompressionType.ZLIB:
      return zlib.deflateSync(buf);
    case CompressionType.ZSTD:
      return zlib.zstdCompressSync(buf);
    case CompressionType.SNAPPY:
      return snappy.compressSync(buf);
    default:
      throw new Error(`unknown compression type ${type}`);
  }
}

/**
 * Decompress to exactly `uncompressedSize` bytes. `maxBytes` bounds the output whatever the
 * metadata claims.
 */
export function decompress(
  type: CompressionType,
  data: Uint8Array,
  uncompressedSize: number,
  maxBytes: number,
): Buffer | CompressionProblem {
  if (uncompressedSize > maxBytes) {
    return { kind: 'decompression-failed', detail: `uncompressed size ${uncompressedSize} > ${maxBytes}` };
  }
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let out: Buffer;
  try {
    switch (type) {
      case CompressionType.NONE:
        out = buf;
        break;
      case CompressionType.LZ4: {
        const prefixed = Buffer.allocUnsafe(4 + buf.byteLength);
        prefixed.writeUInt32LE(uncompressedSize, 0);
        buf.copy(prefixed, 4);
        out = lz4.uncompressSync(prefixed);
        break;
      }
      case CompressionType.ZLIB:
        out = zlib.inflateSync(buf, { maxOutputLength: Math.max(1, uncompressedSize) });
        break;
      case CompressionType.ZSTD:
        out = zlib.zstdDecompressSync(buf, { maxOutputLength: Math.max(1, uncompressedSize) });
        break;
      case CompressionType.SNAPPY: {
        // The raw format starts with the uncompressed length as a varint: check it first.
        const claimed = readVarint(buf);
        if (claimed !== uncompressedSize) {
          return { kind: 'decompression-failed', detail: `snappy header says ${claimed} bytes` };
        }
        out = snappy.uncompressSync(buf, { asBuffer: true }) as Buffer;
        break;
      }
      default:
        return { kind: 'decompression-failed', detail: `unknown compression type ${type}` };
    }
  } catch (err) {
    return { kind: 'decompression-failed', detail: (err as Error).message };
  }
  if (out.byteLength !== uncompressedSize) {
    return {
      kind: 'decompression-failed',
      detail: `got ${out.byteLength} bytes, metadata says ${uncompressedSize}`,
    };
  }
  return out;
}

export function isCompressionProblem(x: Buffer | CompressionProblem): x is CompressionProblem {
  return !Buffer.isBuffer(x);
}

function readVarint(buf: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5 && i < buf.byteLength; i++) {
    value += (buf[i] & 0x7f) * 2 ** (7 * i);
    if ((buf[i] & 0x80) === 0) return value;
  }
  return -1;
}
