/**
 * MessageId: (ledgerId, entryId, partition, batchIndex) plus the batch size and, for consumers of
 * several topics, the topic it came from. `serialize` writes the MessageIdData protobuf, the same
 * bytes the official clients' `toByteArray` produce, so ids can be stored and exchanged with them;
 * `toString` uses their `ledger:entry:partition[:batchIndex]` form.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { MessageIdDataSchema } from '../gen/pulsar/PulsarApi_pb.ts';
import {
  EARLIEST_MESSAGE_ID,
  isEarliest,
  isLatest,
  LATEST_MESSAGE_ID,
  toMessageIdData,
  u64ToNumber,
} from '../wire/message-id.ts';
import { clientErrors } from './errors.ts';

export class MessageId {
  readonly ledgerId: number;
  readonly entryId: number;
  /** Partition index, −1 for a non-partitioned topic. */
  readonly partition: number;
  /** Index in its batch, −1 when the message was not batched. */
  readonly batchIndex: number;
  /** Messages in its batch (0 when not batched). */
  readonly batchSize: number;
  /** Topic (partition) the message was read from; used to route acks of multi-topic consumers. */
  readonly topic: string | undefined;

  constructor(
    ledgerId: number,
    entryId: number,
    partition = -1,
    batchIndex = -1,
    batchSize = 0,
    topic?: string,
  ) {
    this.ledgerId = ledgerId;
    this.entryId = entryId;
    this.partition = partition;
    this.batchIndex = batchIndex;
    this.batchSize = batchSize;
    this.topic = topic;
  }

  static readonly earliest = new MessageId(EARLIEST_MESSAGE_ID.ledgerId, EARLIEST_MESSAGE_ID.entryId);
  static readonly latest = new MessageId(LATEST_MESSAGE_ID.ledgerId, LATEST_MESSAGE_ID.entryId);

  isEarliest(): boolean {
    return isEarliest(this);
  }

  isLatest(): boolean {
    return isLatest(this);
  }

  isBatch(): boolean {
    return this.batchIndex >= 0;
  }

  /** The same position without batch index and size (the whole entry). */
  entry(): MessageId {
    return this.batchIndex < 0
      ? this
      : new MessageId(this.ledgerId, this.entryId, this.partition, -1, 0, this.topic);
  }

  withTopic(topic: string): MessageId {
    return new MessageId(this.ledgerId, this.entryId, this.partition, this.batchIndex, this.batchSize, topic);
  }

  /** Order by (ledgerId, entryId, batchIndex); the partition is not compared. */
  compareTo(other: MessageId): number {
    return (
      this.ledgerId - other.ledgerId || this.entryId - other.entryId || this.batchIndex - other.batchIndex
    );
  }

  equals(other: MessageId): boolean {
    return this.compareTo(other) === 0 && this.partition === other.partition;
  }

  toString(): string {
    const base = `${this.ledgerId}:${this.entryId}:${this.partition}`;
    return this.batchIndex >= 0 ? `${base}:${this.batchIndex}` : base;
  }

  /** MessageIdData protobuf bytes (interchangeable with the official clients' toByteArray). */
  serialize(): Buffer {
    const init = toMessageIdData(this);
    if (this.batchSize > 0) init.batchSize = this.batchSize;
    const bytes = toBinary(MessageIdDataSchema, create(MessageIdDataSchema, init));
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  static deserialize(bytes: Uint8Array, topic?: string): MessageId {
    try {
      const d = fromBinary(MessageIdDataSchema, bytes);
      return new MessageId(
        u64ToNumber(d.ledgerId),
        u64ToNumber(d.entryId),
        d.partition,
        d.batchIndex,
        d.batchSize,
        topic,
      );
    } catch (err) {
      throw clientErrors.make('INVALID_MESSAGE_ID', {
        id: Buffer.from(bytes).toString('hex'),
        reason: (err as Error).message,
      });
    }
  }

  /** Parse `ledger:entry[:partition[:batchIndex]]`, or "earliest" / "latest". */
  static fromString(text: string): MessageId {
    if (text === 'earliest') return MessageId.earliest;
    if (text === 'latest') return MessageId.latest;
    const parts = text.split(':');
    const nums = parts.map((p) => (/^-?\d+$/.test(p) ? Number(p) : Number.NaN));
    if (parts.length < 2 || parts.length > 4 || nums.some((n) => !Number.isSafeInteger(n))) {
      throw clientErrors.make('INVALID_MESSAGE_ID', {
        id: text,
        reason: 'expected ledger:entry[:partition[:batchIndex]], earliest or latest',
      });
    }
    return new MessageId(nums[0], nums[1], nums[2] ?? -1, nums[3] ?? -1);
  }
}
