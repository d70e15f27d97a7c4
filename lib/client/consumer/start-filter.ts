/**
 * Where a non-durable subscription (a reader) starts, and which messages it must skip (pure).
 * The broker starts a non-durable cursor *after* a plain start id and *at* the entry of a batch
 * id (pulsar-protocol.md §5.2.7), so an inclusive start, or a start inside a batch, is sent as the
 * entry itself and the messages before the start are dropped here. After a reconnect a reader
 * resumes after the last message it returned; after a seek, at the seek target.
 */
import { MessageId } from '../message-id.ts';

export class StartFilter {
  private readonly nonDurable: boolean;
  private start: MessageId | undefined;
  private inclusive: boolean;
  private rollbackMs: number;
  private publishTimeFrom: number | undefined;
  private last: MessageId | undefined;

  constructor(nonDurable: boolean, start: MessageId | undefined, inclusive: boolean, rollbackMs: number) {
    this.nonDurable = nonDurable;
    this.start = nonDurable ? start : undefined;
    this.inclusive = inclusive;
    this.rollbackMs = nonDurable ? rollbackMs : 0;
  }

  get lastDelivered(): MessageId | undefined {
    return this.last;
  }

  /** The start_message_id to send in SUBSCRIBE (undefined: the subscription's initial position). */
  wireStart(): MessageId | undefined {
    const s = this.start;
    if (!s) return this.rollbackMs > 0 ? MessageId.latest : undefined;
    if (s.isEarliest() || s.isLatest()) return s;
    if (this.inclusive || s.batchIndex >= 0)
      return new MessageId(s.ledgerId, s.entryId, s.partition, Math.max(0, s.batchIndex));
    return s;
  }

  /** start_message_rollback_duration_sec (rounded up, so it starts at or before the time). */
  rollbackSec(): number {
    return this.rollbackMs > 0 ? Math.ceil(this.rollbackMs / 1000) : 0;
  }

  accepts(m: { messageId: MessageId; publishTime: number }): boolean {
    if (this.publishTimeFrom !== undefined) {
      if (m.publishTime < this.publishTimeFrom) return false;
      this.publishTimeFrom = undefined;
    }
    const s = this.start;
    if (!s || s.isEarliest() || s.isLatest()) return true;
    const c = m.messageId.compareTo(s);
    return c > 0 || (c === 0 && this.inclusive);
  }

  delivered(id: MessageId): void {
    this.last = id;
  }

  /** After a lost connection a reader continues after what it already returned. */
  resumeAfterLastDelivered(): void {
    if (!this.nonDurable || !this.last) return;
    this.start = this.last;
    this.inclusive = false;
    this.rollbackMs = 0;
    this.publishTimeFrom = undefined;
  }

  /** After a seek: the target is the next message (by id), or the first published at/after a time. */
  seekTo(target: MessageId | number, nowMs = Date.now()): void {
    this.last = undefined;
    if (!this.nonDurable) return;
    if (typeof target === 'number') {
      this.start = undefined;
      this.rollbackMs = Math.max(1000, nowMs - target + 1000);
      this.publishTimeFrom = target;
      return;
    }
    this.start = target;
    this.inclusive = true;
    this.rollbackMs = 0;
  }
}
