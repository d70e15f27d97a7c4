/**
 * SEND frames. The head holds the frame sizes, the BaseCommand{SEND}, the 0x0e01 magic, the
 * CRC32C and the metadata; the payload goes out as a second buffer in the same writev, so message
 * bytes are never copied into the frame. The CRC covers metadataSize | metadata | payload
 * (pulsar-protocol.md §1.2) and is chained over the two parts.
 */
import { crc32c } from '../../util/crc32c.ts';
import { MAGIC_CRC32C } from '../../wire/payload.ts';
import type { EncodedEntry, SendCallback } from './batch-builder.ts';
import { ProtoWriter } from './proto-writer.ts';

/** An entry written (or to be written) to the broker, waiting for its receipt. */
export interface OpSend {
  readonly sequenceId: number;
  readonly highestSequenceId: number;
  readonly numMessages: number;
  readonly batched: boolean;
  readonly head: Buffer;
  readonly payload: Buffer;
  /** One per message, in batch order. */
  readonly callbacks: readonly (SendCallback | undefined)[];
  /** Payload bytes before compression (for pending-bytes accounting). */
  readonly bytes: number;
  readonly createdAtMs: number;
}

const SEND_TYPE = 6;
const commandWriter = new ProtoWriter(64);
const bodyWriter = new ProtoWriter(64);

/** Serialized BaseCommand{type: SEND, send: CommandSend{...}}. */
export function encodeSendCommand(producerId: number, entry: EncodedEntry): Buffer {
  const b = bodyWriter;
  b.reset();
  b.varintField(1, producerId);
  b.varintField(2, entry.sequenceId);
  if (entry.numMessages !== 1) b.varintField(3, entry.numMessages);
  if (entry.batched) b.varintField(6, entry.highestSequenceId);
  const body = b.toBuffer();
  const c = commandWriter;
  c.reset();
  c.varintField(1, SEND_TYPE);
  c.bytesField(SEND_TYPE, body);
  return c.toBuffer();
}

export function buildOpSend(
  producerId: number,
  entry: EncodedEntry,
  callbacks: readonly (SendCallback | undefined)[],
  nowMs: number,
): OpSend {
  const command = encodeSendCommand(producerId, entry);
  const meta = entry.metadata;
  const headBytes = 8 + command.byteLength + 6 + 4 + meta.byteLength;
  const head = Buffer.allocUnsafe(headBytes);
  head.writeUInt32BE(headBytes - 4 + entry.payload.byteLength, 0);
  head.writeUInt32BE(command.byteLength, 4);
  command.copy(head, 8);
  let at = 8 + command.byteLength;
  head.writeUInt16BE(MAGIC_CRC32C, at);
  const crcAt = at + 2;
  at += 6;
  head.writeUInt32BE(meta.byteLength, at);
  meta.copy(head, at + 4);
  const crc = crc32c(entry.payload, crc32c(head.subarray(at)));
  head.writeUInt32BE(crc, crcAt);
  return {
    sequenceId: entry.sequenceId,
    highestSequenceId: entry.highestSequenceId,
    numMessages: entry.numMessages,
    batched: entry.batched,
    head,
    payload: entry.payload,
    callbacks,
    bytes: entry.uncompressedBytes,
    createdAtMs: nowMs,
  };
}
