/**
 * Messages as the application sees them: `OutgoingMessage` is what `send` takes, `Message` is
 * what consumers and readers return. Message bodies are Buffers; strings are sent as UTF-8.
 */
import type { MessageId } from './message-id.ts';

export interface OutgoingMessage {
  payload: Buffer | Uint8Array | string;
  /** Routing key (partition choice, Key_Shared, compaction). */
  key?: string;
  /** Overrides the key for Key_Shared ordering only. */
  orderingKey?: Buffer | string;
  properties?: Record<string, string>;
  /** Application event time, ms since the epoch. */
  eventTime?: number | Date;
  /** Deliver no earlier than this time (Shared and Key_Shared subscriptions). */
  deliverAt?: number | Date;
  /** Deliver no earlier than this many ms after sending. */
  deliverAfterMs?: number;
  /** Explicit sequence id (deduplication); by default the producer numbers messages. */
  sequenceId?: number;
}

/** Where a received message came from: the consumer of one topic that tracks its acks and permits. */
export interface MessageOrigin {
  readonly topic: string;
}

export class Message {
  readonly topic: string;
  readonly messageId: MessageId;
  readonly payload: Buffer;
  readonly key: string | undefined;
  readonly orderingKey: Buffer | undefined;
  readonly properties: Readonly<Record<string, string>>;
  /** ms since the epoch, set by the producer. */
  readonly publishTime: number;
  /** ms since the epoch, 0 when the producer set none. */
  readonly eventTime: number;
  readonly redeliveryCount: number;
  readonly producerName: string;
  readonly sequenceId: number;
  /** The consumer of one topic this message belongs to (internal). */
  readonly origin: MessageOrigin | undefined;

  constructor(init: {
    topic: string;
    messageId: MessageId;
    payload: Buffer;
    key?: string;
    orderingKey?: Buffer;
    properties: Record<string, string>;
    publishTime: number;
    eventTime: number;
    redeliveryCount: number;
    producerName: string;
    sequenceId: number;
    origin?: MessageOrigin;
  }) {
    this.topic = init.topic;
    this.messageId = init.messageId;
    this.payload = init.payload;
    this.key = init.key;
    this.orderingKey = init.orderingKey;
    this.properties = init.properties;
    this.publishTime = init.publishTime;
    this.eventTime = init.eventTime;
    this.redeliveryCount = init.redeliveryCount;
    this.producerName = init.producerName;
    this.sequenceId = init.sequenceId;
    this.origin = init.origin;
  }

  /** The payload decoded as UTF-8. */
  text(): string {
    return this.payload.toString('utf8');
  }

  hasKey(): boolean {
    return this.key !== undefined;
  }
}

export function payloadBytes(payload: Buffer | Uint8Array | string): Buffer {
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (Buffer.isBuffer(payload)) return payload;
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

export function timeOf(t: number | Date | undefined): number | undefined {
  if (t === undefined) return undefined;
  return typeof t === 'number' ? t : t.getTime();
}
