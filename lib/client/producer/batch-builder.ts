/**
 * Producer batching and entry encoding (pure). Messages accumulate in a BatchBuilder until it
 * holds batchingMaxMessages or batchingMaxBytes, or the publish delay expires (the driver's
 * timer). `encodeEntry` turns the messages into one stored entry: MessageMetadata plus either a
 * single payload or the batch layout N × [size][SingleMessageMetadata][bytes] (pulsar-protocol.md
 * §1.5), compressed as one unit. A batch of one is sent as a plain message, like the official
 * clients do, so it never needs batch-index bookkeeping.
 */
import { compress } from '../../wire/compression.ts';
import type { MessageId } from '../message-id.ts';
import type { ProtoWriter } from './proto-writer.ts';

export type SendCallback = (err: Error | undefined, id: MessageId | undefined) => void;

/** A message accepted by `send`, waiting to be batched and written. */
export interface QueuedMessage {
  readonly payload: Buffer;
  readonly key: string | undefined;
  readonly orderingKey: Buffer | undefined;
  readonly properties: Readonly<Record<string, string>> | undefined;
  readonly eventTime: number | undefined;
  /** Delayed delivery time (ms epoch); such messages are never batched. */
  readonly deliverAt: number | undefined;
  readonly sequenceId: number;
  readonly callback: SendCallback | undefined;
}

export class BatchBuilder {
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private items: QueuedMessage[] = [];
  private bytesHeld = 0;

  constructor(maxMessages: number, maxBytes: number) {
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
  }

  get count(): number {
    return this.items.length;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  get isEmpty(): boolean {
    return this.items.length === 0;
  }

  /** Whether `bytes` more fit; an empty batch takes a message of any size. */
  hasRoomFor(bytes: number): boolean {
    if (this.items.length === 0) return true;
    return this.items.length < this.maxMessages && this.bytesHeld + bytes <= this.maxBytes;
  }

  get isFull(): boolean {
    return this.items.length >= this.maxMessages || this.bytesHeld >= this.maxBytes;
  }

  add(msg: QueuedMessage): void {
    this.items.push(msg);
    this.bytesHeld += msg.payload.byteLength;
  }

  /** Take the batched messages, leaving the builder empty. */
  drain(): QueuedMessage[] {
    const out = this.items;
    this.items = [];
    this.bytesHeld = 0;
    return out;
  }
}

/** One entry ready to be framed: serialized MessageMetadata and the (compressed) payload. */
export interface EncodedEntry {
  readonly metadata: Buffer;
  readonly payload: Buffer;
  readonly numMessages: number;
  readonly batched: boolean;
  readonly sequenceId: number;
  readonly highestSequenceId: number;
  readonly uncompressedBytes: number;
}

export interface EntryContext {
  readonly producerName: string;
  /** CompressionType id (NONE 0, LZ4 1, ZLIB 2, ZSTD 3, SNAPPY 4). */
  readonly compression: number;
  readonly nowMs: number;
  /** Writers reused across entries (the producer owns them). */
  readonly metadataWriter: ProtoWriter;
  readonly batchWriter: ProtoWriter;
}

/** Encode one or more messages (in send order) as one entry. */
export function encodeEntry(ctx: EntryContext, messages: readonly QueuedMessage[]): EncodedEntry {
  if (messages.length === 0) throw new Error('encodeEntry needs at least one message');
  const first = messages[0];
  const last = messages[messages.length - 1];
  const batched = messages.length > 1;
  let raw: Buffer;
  if (batched) {
    const w = ctx.batchWriter;
    w.reset();
    for (const m of messages) {
      const at = w.reserveUInt32();
      writeSingleMetadata(w, m);
      w.patchUInt32(at, w.length - at - 4);
      w.raw(m.payload);
    }
    raw = w.toBuffer();
  } else {
    raw = first.payload;
  }
  const payload = ctx.compression === 0 ? raw : compress(ctx.compression as never, raw);
  const w = ctx.metadataWriter;
  w.reset();
  w.stringField(1, ctx.producerName);
  w.varintField(2, first.sequenceId);
  w.varintField(3, ctx.nowMs);
  if (!batched && first.properties) w.keyValues(4, first.properties);
  // A batch whose messages share one key (always so with key-based batching) carries it at the
  // entry level too, so the broker routes it by key (Key_Shared).
  const key = batched ? sharedKey(messages) : first.key;
  if (key !== undefined) w.stringField(6, key);
  if (ctx.compression !== 0) {
    w.varintField(8, ctx.compression);
    w.varintField(9, raw.byteLength);
  }
  if (batched) w.varintField(11, messages.length);
  if (!batched && first.eventTime !== undefined && first.eventTime > 0) w.varintField(12, first.eventTime);
  const orderingKey = batched ? sharedOrderingKey(messages) : first.orderingKey;
  if (orderingKey !== undefined) w.bytesField(18, orderingKey);
  if (!batched && first.deliverAt !== undefined) w.int64Field(19, first.deliverAt);
  if (batched) w.varintField(24, last.sequenceId);
  return {
    metadata: w.toBuffer(),
    payload,
    numMessages: messages.length,
    batched,
    sequenceId: first.sequenceId,
    highestSequenceId: last.sequenceId,
    uncompressedBytes: raw.byteLength,
  };
}

/** SingleMessageMetadata of one batched message, fields in number order. */
function writeSingleMetadata(w: ProtoWriter, m: QueuedMessage): void {
  if (m.properties) w.keyValues(1, m.properties);
  if (m.key !== undefined) w.stringField(2, m.key);
  w.varintField(3, m.payload.byteLength);
  if (m.eventTime !== undefined && m.eventTime > 0) w.varintField(5, m.eventTime);
  if (m.orderingKey !== undefined) w.bytesField(7, m.orderingKey);
  w.varintField(8, m.sequenceId);
}

function sharedKey(messages: readonly QueuedMessage[]): string | undefined {
  const key = messages[0].key;
  if (key === undefined) return undefined;
  for (let i = 1; i < messages.length; i++) if (messages[i].key !== key) return undefined;
  return key;
}

function sharedOrderingKey(messages: readonly QueuedMessage[]): Buffer | undefined {
  const key = messages[0].orderingKey;
  if (key === undefined) return undefined;
  for (let i = 1; i < messages.length; i++) {
    const k = messages[i].orderingKey;
    if (k === undefined || !k.equals(key)) return undefined;
  }
  return key;
}
