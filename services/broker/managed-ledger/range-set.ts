/**
 * The set of individually acknowledged entries of a cursor, as sorted, disjoint, non-adjacent
 * ranges of entry ids per ledger (the "ack holes" view). Pure data structure: no I/O.
 *
 * Ranges never span ledgers (entry ids restart per ledger); whether the last entry of one
 * ledger and the first of the next are adjacent in the topic is decided by the cursor, which
 * knows the ledger list.
 */
import { assert } from '../../../lib/assert.ts';
import type { Position } from './api.ts';

export interface AckRange {
  readonly ledgerId: number;
  readonly first: number;
  readonly last: number;
}

function cmp(l1: number, e1: number, l2: number, e2: number): number {
  if (l1 !== l2) return l1 < l2 ? -1 : 1;
  return e1 === e2 ? 0 : e1 < e2 ? -1 : 1;
}

export class AckRangeSet {
  private ranges: AckRange[] = [];
  private entryCount = 0;

  /** Number of disjoint ranges. */
  get rangeCount(): number {
    return this.ranges.length;
  }

  /** Number of acknowledged entries in all ranges. */
  get size(): number {
    return this.entryCount;
  }

  /** Index of the first range that ends at or after (ledgerId, entryId); ranges.length if none. */
  private lowerBound(ledgerId: number, entryId: number): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.ranges[mid];
      if (cmp(r.ledgerId, r.last, ledgerId, entryId) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  contains(p: Position): boolean {
    return this.rangeContaining(p) !== undefined;
  }

  /** The range holding `p`, if any. */
  rangeContaining(p: Position): AckRange | undefined {
    const r = this.ranges[this.lowerBound(p.ledgerId, p.entryId)];
    return r && r.ledgerId === p.ledgerId && r.first <= p.entryId ? r : undefined;
  }

  /** The first range holding `p` or lying after it. */
  ceilingRange(p: Position): AckRange | undefined {
    return this.ranges[this.lowerBound(p.ledgerId, p.entryId)];
  }

  /** Add one entry; false if it was already in the set. */
  add(p: Position): boolean {
    return this.addRange(p.ledgerId, p.entryId, p.entryId) > 0;
  }

  /** Add entries first..last of a ledger; returns how many were new. */
  addRange(ledgerId: number, first: number, last: number): number {
    assert(first <= last && first >= 0, 'ack range must be non-empty with entry ids >= 0', {
      ledgerId,
      first,
      last,
    });
    // Ranges that overlap or touch [first-1, last+1] in this ledger are merged.
    const i = this.lowerBound(ledgerId, first - 1);
    let newFirst = first;
    let newLast = last;
    let covered = 0;
    let j = i;
    while (j < this.ranges.length) {
      const r = this.ranges[j];
      if (r.ledgerId !== ledgerId || r.first > last + 1) break;
      newFirst = Math.min(newFirst, r.first);
      newLast = Math.max(newLast, r.last);
      covered += r.last - r.first + 1;
      j++;
    }
    const added = newLast - newFirst + 1 - covered;
    this.ranges.splice(i, j - i, { ledgerId, first: newFirst, last: newLast });
    this.entryCount += added;
    return added;
  }

  /** Remove every entry at or before `p` (the mark-delete position moved there). */
  removeAtOrBefore(p: Position): void {
    let cut = 0;
    while (cut < this.ranges.length) {
      const r = this.ranges[cut];
      if (cmp(r.ledgerId, r.last, p.ledgerId, p.entryId) <= 0) {
        this.entryCount -= r.last - r.first + 1;
        cut++;
        continue;
      }
      if (r.ledgerId === p.ledgerId && r.first <= p.entryId) {
        this.entryCount -= p.entryId - r.first + 1;
        this.ranges[cut] = { ledgerId: r.ledgerId, first: p.entryId + 1, last: r.last };
      }
      break;
    }
    if (cut > 0) this.ranges.splice(0, cut);
  }

  /** Remove every range of ledgers whose id is below `ledgerId` (trimmed ledgers). */
  removeLedgersBefore(ledgerId: number): void {
    this.removeAtOrBefore({ ledgerId: ledgerId - 1, entryId: Number.MAX_SAFE_INTEGER });
  }

  /** Acknowledged entries at or after `p`. */
  countAtOrAfter(p: Position): number {
    let n = 0;
    for (let i = this.ranges.length - 1; i >= 0; i--) {
      const r = this.ranges[i];
      if (cmp(r.ledgerId, r.first, p.ledgerId, p.entryId) >= 0) {
        n += r.last - r.first + 1;
        continue;
      }
      if (r.ledgerId === p.ledgerId && r.last >= p.entryId) n += r.last - p.entryId + 1;
      break;
    }
    return n;
  }

  /** Acknowledged entries in (from, to]. */
  countBetween(fromExclusive: Position, toInclusive: Position): number {
    if (cmp(fromExclusive.ledgerId, fromExclusive.entryId, toInclusive.ledgerId, toInclusive.entryId) >= 0)
      return 0;
    const afterTo = this.countAtOrAfter({ ledgerId: toInclusive.ledgerId, entryId: toInclusive.entryId + 1 });
    const afterFrom = this.countAtOrAfter({
      ledgerId: fromExclusive.ledgerId,
      entryId: fromExclusive.entryId + 1,
    });
    return afterFrom - afterTo;
  }

  first(): AckRange | undefined {
    return this.ranges[0];
  }

  /** The first `limit` ranges, in order. */
  toArray(limit = Number.MAX_SAFE_INTEGER): AckRange[] {
    return this.ranges.slice(0, limit);
  }

  clear(): void {
    this.ranges = [];
    this.entryCount = 0;
  }

  /** Self-check used by tests: sorted, disjoint, non-adjacent, counts consistent. */
  checkInvariants(): void {
    let count = 0;
    for (let i = 0; i < this.ranges.length; i++) {
      const r = this.ranges[i];
      assert(r.first <= r.last, 'range non-empty', { r });
      count += r.last - r.first + 1;
      const prev = this.ranges[i - 1];
      if (prev)
        assert(
          prev.ledgerId < r.ledgerId || (prev.ledgerId === r.ledgerId && prev.last + 1 < r.first),
          'ranges sorted, disjoint and non-adjacent',
          { prev, r },
        );
    }
    assert(count === this.entryCount, 'entry count consistent', { count, entryCount: this.entryCount });
  }
}
