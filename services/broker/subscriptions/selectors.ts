/**
 * Consumer selection rules, pure (internals.md §4.3):
 *  - Shared: round robin among the available consumers of the best priority level.
 *  - Failover: consumers sorted by (priority, name); the active one is the first, or for a
 *    partition, index `partition mod N` among the N consumers of the best priority level.
 *  - Key_Shared: a slot in [0, 65536) maps to one consumer — AUTO_SPLIT (a joining consumer
 *    takes the lower half of the largest range; a leaving one's range goes to its right
 *    neighbour, or to its left one when it held the top range) or STICKY (client-declared,
 *    non-overlapping ranges).
 */
import { KEY_SHARED_HASH_RANGE } from '../../../lib/wire/hash.ts';

export interface Candidate {
  readonly id: number;
  readonly name: string;
  readonly priority: number;
}

/** Round robin with priority levels; remembers where the last turn ended. */
export class RoundRobinPicker {
  private last = -1;

  /** Next available consumer among `ordered` (arrival order) at the best available priority. */
  pick<C>(ordered: readonly C[], priorityOf: (c: C) => number, available: (c: C) => boolean): C | undefined {
    let best = Number.POSITIVE_INFINITY;
    for (const c of ordered) if (priorityOf(c) < best && available(c)) best = priorityOf(c);
    if (best === Number.POSITIVE_INFINITY) return undefined;
    const n = ordered.length;
    for (let step = 1; step <= n; step++) {
      const i = (this.last + step) % n;
      const c = ordered[i];
      if (priorityOf(c) === best && available(c)) {
        this.last = i;
        return c;
      }
    }
    return undefined;
  }
}

export function failoverOrder<C extends Candidate>(consumers: readonly C[]): C[] {
  return [...consumers].sort(
    (a, b) => a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id),
  );
}

/** The active consumer of a single-active (Exclusive/Failover) subscription. */
export function chooseActive<C extends Candidate>(
  consumers: readonly C[],
  partitionIndex: number,
): C | undefined {
  if (consumers.length === 0) return undefined;
  const sorted = failoverOrder(consumers);
  if (partitionIndex < 0) return sorted[0];
  const top = sorted.filter((c) => c.priority === sorted[0].priority);
  return top[partitionIndex % top.length];
}

export interface KeySelector {
  /** Add a consumer; undefined when accepted, else the reason it is refused. */
  add(consumer: Candidate & { stickyRanges?: readonly (readonly [number, number])[] }): string | undefined;
  remove(consumerId: number): void;
  /** Owner of a slot, or undefined when no consumer covers it. */
  select(slot: number): number | undefined;
  /** Inclusive slot ranges per consumer (stats). */
  ranges(): Map<number, [number, number][]>;
}

interface Range {
  start: number;
  end: number;
  consumerId: number;
}

export class AutoSplitSelector implements KeySelector {
  /** Sorted by start; contiguous and covering [0, 65535] whenever non-empty. */
  private list: Range[] = [];

  add(consumer: Candidate): string | undefined {
    if (this.list.some((r) => r.consumerId === consumer.id)) return 'consumer already added';
    if (this.list.length === 0) {
      this.list = [{ start: 0, end: KEY_SHARED_HASH_RANGE - 1, consumerId: consumer.id }];
      return undefined;
    }
    let largest = 0;
    for (let i = 1; i < this.list.length; i++) {
      const a = this.list[i];
      const b = this.list[largest];
      if (a.end - a.start > b.end - b.start) largest = i;
    }
    const r = this.list[largest];
    if (r.end === r.start) return 'no hash range left to split';
    const middle = r.start + Math.floor((r.end - r.start) / 2);
    this.list.splice(
      largest,
      1,
      { start: r.start, end: middle, consumerId: consumer.id },
      { ...r, start: middle + 1 },
    );
    return undefined;
  }

  remove(consumerId: number): void {
    const i = this.list.findIndex((r) => r.consumerId === consumerId);
    if (i < 0) return;
    const r = this.list[i];
    this.list.splice(i, 1);
    if (this.list.length === 0) return;
    if (i < this.list.length) this.list[i] = { ...this.list[i], start: r.start };
    else this.list[i - 1] = { ...this.list[i - 1], end: r.end };
  }

  select(slot: number): number | undefined {
    let lo = 0;
    let hi = this.list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.list[mid];
      if (slot < r.start) hi = mid - 1;
      else if (slot > r.end) lo = mid + 1;
      else return r.consumerId;
    }
    return undefined;
  }

  ranges(): Map<number, [number, number][]> {
    const out = new Map<number, [number, number][]>();
    for (const r of this.list) out.set(r.consumerId, [...(out.get(r.consumerId) ?? []), [r.start, r.end]]);
    return out;
  }
}

export class StickySelector implements KeySelector {
  private list: Range[] = [];

  add(consumer: Candidate & { stickyRanges?: readonly (readonly [number, number])[] }): string | undefined {
    const wanted = consumer.stickyRanges ?? [];
    if (wanted.length === 0) return 'STICKY mode needs at least one hash range';
    for (const [start, end] of wanted) {
      if (
        !Number.isInteger(start) ||
        !Number.isInteger(end) ||
        start < 0 ||
        end >= KEY_SHARED_HASH_RANGE ||
        start > end
      ) {
        return `invalid range [${start}, ${end}]`;
      }
      for (const r of this.list) {
        if (start <= r.end && r.start <= end)
          return `range [${start}, ${end}] overlaps consumer ${r.consumerId}`;
      }
    }
    for (let i = 0; i < wanted.length; i++) {
      for (let j = i + 1; j < wanted.length; j++) {
        if (wanted[i][0] <= wanted[j][1] && wanted[j][0] <= wanted[i][1]) return 'ranges overlap each other';
      }
    }
    for (const [start, end] of wanted) this.list.push({ start, end, consumerId: consumer.id });
    this.list.sort((a, b) => a.start - b.start);
    return undefined;
  }

  remove(consumerId: number): void {
    this.list = this.list.filter((r) => r.consumerId !== consumerId);
  }

  select(slot: number): number | undefined {
    for (const r of this.list) if (slot >= r.start && slot <= r.end) return r.consumerId;
    return undefined;
  }

  ranges(): Map<number, [number, number][]> {
    const out = new Map<number, [number, number][]>();
    for (const r of this.list) out.set(r.consumerId, [...(out.get(r.consumerId) ?? []), [r.start, r.end]]);
    return out;
  }
}
