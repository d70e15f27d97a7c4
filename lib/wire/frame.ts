/**
 * Pulsar frame layer (pulsar-protocol.md §1): every frame is
 *
 *   totalSize:u32 BE | commandSize:u32 BE | BaseCommand (commandSize bytes) | payload section?
 *
 * where totalSize counts every byte after itself. A frame is "simple" iff totalSize == 4 +
 * commandSize; otherwise the bytes after the command are the payload section (SEND and MESSAGE
 * only). This module only cuts and assembles frames; the command is decoded by commands.ts and the
 * payload section by payload.ts.
 */

/** Bytes of the two length prefixes. */
export const FRAME_HEADER_BYTES = 8;

/** Default maximum message size a broker advertises in CONNECTED (5 MiB). */
export const DEFAULT_MAX_MESSAGE_SIZE = 5 * 1024 * 1024;

/** Extra room a frame may use beyond the message size for command and headers (10 KiB). */
export const FRAME_PADDING_BYTES = 10 * 1024;

export interface RawFrame {
  /** Serialized BaseCommand. */
  readonly command: Buffer;
  /** Payload section (from the first magic on), present only for payload frames. */
  readonly payload?: Buffer;
}

/** Why a byte stream cannot be cut into frames. After one, the stream cannot be trusted. */
export type FrameProblem =
  | { readonly kind: 'frame-too-large'; readonly totalSize: number; readonly maxFrameBytes: number }
  | { readonly kind: 'bad-command-size'; readonly totalSize: number; readonly commandSize: number };

/** Build a simple frame around a serialized command. */
export function encodeSimpleFrame(command: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + command.byteLength);
  buf.writeUInt32BE(4 + command.byteLength, 0);
  buf.writeUInt32BE(command.byteLength, 4);
  buf.set(command, FRAME_HEADER_BYTES);
  return buf;
}

/**
 * Build the header + command part of a payload frame whose payload section has `payloadBytes`
 * bytes; the caller writes the payload section right after it (no copy of the payload).
 */
export function encodePayloadFrameHead(command: Uint8Array, payloadBytes: number): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + command.byteLength);
  buf.writeUInt32BE(4 + command.byteLength + payloadBytes, 0);
  buf.writeUInt32BE(command.byteLength, 4);
  buf.set(command, FRAME_HEADER_BYTES);
  return buf;
}

/** One contiguous payload frame (copies the payload; prefer encodePayloadFrameHead on hot paths). */
export function encodePayloadFrame(command: Uint8Array, payload: Uint8Array): Buffer {
  return Buffer.concat([encodePayloadFrameHead(command, payload.byteLength), payload]);
}

/**
 * Incremental frame decoder: push socket chunks in, take whole frames out. A frame whose
 * totalSize exceeds `maxFrameBytes` is refused before any of its body is buffered, so a peer
 * cannot make us hold more than one maximal frame plus one chunk.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: FrameProblem | undefined;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held that do not yet form a whole frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.byteLength === 0 || this.failed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
  }

  /**
   * The next whole frame, undefined when more bytes are needed, or a problem (sticky: once the
   * stream is broken, every later call returns the same problem).
   */
  next(): RawFrame | FrameProblem | undefined {
    if (this.failed) return this.failed;
    if (this.buffered < 4) return undefined;
    const totalSize = this.peekUInt32(0);
    if (totalSize + 4 > this.maxFrameBytes) {
      return (this.failed = { kind: 'frame-too-large', totalSize, maxFrameBytes: this.maxFrameBytes });
    }
    if (this.buffered < 8) return undefined;
    const commandSize = this.peekUInt32(4);
    if (totalSize < 4 || commandSize > totalSize - 4) {
      return (this.failed = { kind: 'bad-command-size', totalSize, commandSize });
    }
    if (this.buffered < totalSize + 4) return undefined;
    const frame = this.take(totalSize + 4);
    const command = frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + commandSize);
    if (totalSize === 4 + commandSize) return { command };
    return { command, payload: frame.subarray(FRAME_HEADER_BYTES + commandSize) };
  }

  private peekUInt32(offset: number): number {
    const first = this.chunks[0];
    if (first.byteLength >= offset + 4) return first.readUInt32BE(offset);
    const head = this.gather(offset + 4);
    return head.readUInt32BE(offset);
  }

  /** The first n buffered bytes as one buffer, without consuming them (merges leading chunks). */
  private gather(n: number): Buffer {
    if (this.chunks[0].byteLength >= n) return this.chunks[0];
    let count = 0;
    let bytes = 0;
    while (bytes < n) bytes += this.chunks[count++].byteLength;
    const merged = Buffer.concat(this.chunks.slice(0, count), bytes);
    this.chunks.splice(0, count, merged);
    return merged;
  }

  private take(n: number): Buffer {
    const head = this.gather(n);
    const out = head.subarray(0, n);
    if (head.byteLength === n) this.chunks.shift();
    else this.chunks[0] = head.subarray(n);
    this.buffered -= n;
    return out;
  }
}
