/**
 * Ack timeout (internals.md §4.4): an entry handed to the application and not acknowledged
 * within ackTimeoutMs is redelivered. Like the official clients, time is cut into ticks and
 * entries are kept in ceil(timeout / tick) buckets: adding goes to the newest bucket, each tick
 * expires the oldest, so the cost per message is one map insert and no timer. Pure.
 */
import type { MessageId } from '../message-id.ts';
import { entryKey } from './nack-tracker.ts';

export class AckTimeoutTracker {
  private readonly buckets: Map<string, MessageId>[];
  private readonly where = new Map<string, Map<string, MessageId>>();
  private newest: number;

  constructor(ackTimeoutMs: number, tickMs: number) {
    const count = Math.max(1, Math.ceil(ackTimeoutMs / tickMs));
    this.buckets = Array.from({ length: count + 1 }, () => new Map());
    this.newest = 0;
  }

  get size(): number {
    return this.where.size;
  }

  add(id: MessageId): void {
    const entry = id.entry();
    const key = entryKey(entry);
    if (this.where.has(key)) return;
    const bucket = this.buckets[this.newest];
    bucket.set(key, entry);
    this.where.set(key, bucket);
  }

  remove(id: { ledgerId: number; entryId: number }): void {
    const key = entryKey(id);
    const bucket = this.where.get(key);
    if (!bucket) return;
    bucket.delete(key);
    this.where.delete(key);
  }

  /** Advance one tick; returns the entries that timed out. */
  tick(): MessageId[] {
    const oldestIndex = (this.newest + 1) % this.buckets.length;
    const oldest = this.buckets[oldestIndex];
    const expired = [...oldest.values()];
    for (const key of oldest.keys()) this.where.delete(key);
    oldest.clear();
    this.newest = oldestIndex;
    return expired;
  }

  clear(): void {
    for (const b of this.buckets) b.clear();
    this.where.clear();
  }
}
