/**
 * Negative acknowledgements (internals.md §4.4): a nacked message is redelivered after a delay.
 * Entries are tracked whole (a nacked batch message brings its batch back). Pure: the driver asks
 * for the due entries at `nextDueMs()`.
 */
import type { MessageId } from '../message-id.ts';

export class NackTracker {
  private readonly delayMs: number;
  private readonly pending = new Map<string, { id: MessageId; dueMs: number }>();

  constructor(delayMs: number) {
    this.delayMs = delayMs;
  }

  get size(): number {
    return this.pending.size;
  }

  add(id: MessageId, nowMs: number): void {
    const entry = id.entry();
    const key = entryKey(entry);
    if (!this.pending.has(key)) this.pending.set(key, { id: entry, dueMs: nowMs + this.delayMs });
  }

  /** An ack after a nack cancels the redelivery. */
  remove(id: MessageId): void {
    this.pending.delete(entryKey(id));
  }

  /** Remove and return the entries whose delay has passed. */
  takeDue(nowMs: number): MessageId[] {
    const due: MessageId[] = [];
    for (const [key, p] of this.pending) {
      if (p.dueMs <= nowMs) {
        due.push(p.id);
        this.pending.delete(key);
      }
    }
    return due;
  }

  nextDueMs(): number | undefined {
    let min: number | undefined;
    for (const p of this.pending.values()) if (min === undefined || p.dueMs < min) min = p.dueMs;
    return min;
  }

  clear(): void {
    this.pending.clear();
  }
}

export function entryKey(id: { ledgerId: number; entryId: number }): string {
  return `${id.ledgerId}:${id.entryId}`;
}
