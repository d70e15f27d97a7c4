/**
 * Delayed delivery index (internals.md §4.5), pure: entries with a future deliver_at_time are
 * held here instead of being dispatched; `releaseDue(now)` hands back those that are due, oldest
 * deadline first. Bounded: `isFull` tells the dispatcher to stop reading new entries. Rebuilt
 * after a reload naturally, since held entries stay unacknowledged and are read again.
 */
import { type Position, posKey } from './types.ts';

interface Item {
  readonly at: number;
  readonly position: Position;
}

export class DelayedTracker {
  private readonly maxEntries: number;
  /** Binary min-heap by deliver time. */
  private heap: Item[] = [];
  /** Held entries: key → deliver time (the heap may also hold stale items of removed keys). */
  private readonly keys = new Map<string, number>();

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.keys.size;
  }

  get isFull(): boolean {
    return this.keys.size >= this.maxEntries;
  }

  has(p: Position): boolean {
    return this.keys.has(posKey(p));
  }

  /** Hold an entry until `at`. Returns false when it is already held. */
  add(position: Position, at: number): boolean {
    const key = posKey(position);
    if (this.keys.has(key)) return false;
    this.keys.set(key, at);
    this.heap.push({ at, position });
    this.up(this.heap.length - 1);
    return true;
  }

  /** Forget an entry (acknowledged). Lazy: the heap item is skipped when it surfaces. */
  remove(position: Position): void {
    this.keys.delete(posKey(position));
    // Stale heap items are dropped lazily; rebuild when they dominate so the heap stays bounded.
    if (this.heap.length > 2 * this.keys.size + 1024) this.rebuild();
  }

  /** Deadline of the next held entry, or undefined. */
  nextDeadline(): number | undefined {
    this.dropStale();
    return this.heap[0]?.at;
  }

  releaseDue(now: number): Position[] {
    const out: Position[] = [];
    for (;;) {
      this.dropStale();
      const top = this.heap[0];
      if (!top || top.at > now) return out;
      this.pop();
      this.keys.delete(posKey(top.position));
      out.push(top.position);
    }
  }

  clear(): void {
    this.heap = [];
    this.keys.clear();
  }

  private dropStale(): void {
    while (this.heap.length > 0 && this.keys.get(posKey(this.heap[0].position)) !== this.heap[0].at)
      this.pop();
  }

  private rebuild(): void {
    const live = this.heap.filter((item) => this.keys.get(posKey(item.position)) === item.at);
    const seen = new Set<string>();
    this.heap = [];
    for (const item of live) {
      const key = posKey(item.position);
      if (seen.has(key)) continue;
      seen.add(key);
      this.heap.push(item);
      this.up(this.heap.length - 1);
    }
  }

  private pop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent].at <= h[i].at) return;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l].at < h[m].at) m = l;
      if (r < h.length && h[r].at < h[m].at) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i], h[m]];
      i = m;
    }
  }
}
