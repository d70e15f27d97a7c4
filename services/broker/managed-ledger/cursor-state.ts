/**
 * The state machine of one cursor (internals.md §4.2): mark-delete position, individually
 * deleted ranges above it, batch-index acks, read position and mark-delete properties, plus the
 * rate limiter that decides when dirty state is persisted. Pure: positions are interpreted with
 * the ledger list it is given, time is an argument.
 */
import type { Position, PositionRange } from './api.ts';
import { comparePositions, maxPosition } from './api.ts';
import { type BatchAckEntry, BatchAckSet } from './batch-acks.ts';
import type { LedgerList } from './ledger-list.ts';
import { type AckRange, AckRangeSet } from './range-set.ts';

/** What gets persisted: a bounded view of the state. */
export interface CursorSnapshot {
  readonly markDelete: Position;
  readonly ranges: readonly AckRange[];
  readonly batchAcks: readonly BatchAckEntry[];
  readonly properties: Readonly<Record<string, bigint>>;
  /** True when more ranges or batch acks exist than the snapshot holds. */
  readonly truncated: boolean;
}

export class CursorCore {
  private list: LedgerList;
  private md: Position;
  private rp: Position;
  readonly acked = new AckRangeSet();
  readonly batchAcks = new BatchAckSet();
  private props: Readonly<Record<string, bigint>> = {};
  /** Increments on every persisted-state change (dirty tracking). */
  version = 0;

  constructor(list: LedgerList, markDelete: Position) {
    this.list = list;
    this.md = markDelete;
    this.rp = list.nextPosition(markDelete);
  }

  get markDeletePosition(): Position {
    return this.md;
  }

  /** The next entry to read; re-normalized because the ledger list may have rolled meanwhile. */
  get readPosition(): Position {
    this.rp = this.list.normalize(this.rp);
    return this.rp;
  }

  get properties(): Readonly<Record<string, bigint>> {
    return this.props;
  }

  /** Replace the ledger list view (after a roll or trim); re-normalizes the read position. */
  setLedgerList(list: LedgerList): void {
    this.list = list;
    this.rp = this.list.normalize(this.rp);
  }

  /** Restore persisted state (cursor recovery). */
  restore(s: CursorSnapshot): void {
    this.md = s.markDelete;
    this.acked.clear();
    this.batchAcks.clear();
    for (const r of s.ranges) {
      if (comparePositions({ ledgerId: r.ledgerId, entryId: r.last }, this.md) > 0)
        this.acked.addRange(
          r.ledgerId,
          Math.max(r.first, r.ledgerId === this.md.ledgerId ? this.md.entryId + 1 : 0),
          r.last,
        );
    }
    for (const b of s.batchAcks)
      if (comparePositions(b.position, this.md) > 0 && !this.acked.contains(b.position))
        this.batchAcks.restore(b.position, b.batchSize, [...b.words]);
    this.props = { ...s.properties };
    this.rp = this.list.nextPosition(this.md);
    this.advanceMarkDelete();
    this.rp = this.skipAcked(this.rp);
  }

  private lastPosition(): Position {
    return this.list.lastPosition();
  }

  /** True when `p` names an existing, confirmed entry. */
  isValidEntry(p: Position): boolean {
    return this.list.hasEntry(p) && comparePositions(p, this.lastPosition()) <= 0;
  }

  isAcknowledged(p: Position): boolean {
    return comparePositions(p, this.md) <= 0 || this.acked.contains(p);
  }

  /** Cumulative ack. Returns false (no change) when `p` is not after the current mark-delete. */
  markDelete(p: Position, properties?: Readonly<Record<string, bigint>>): boolean {
    let changed = false;
    if (properties) {
      this.props = { ...properties };
      changed = true;
    }
    if (comparePositions(p, this.md) > 0) {
      this.md = p;
      this.acked.removeAtOrBefore(p);
      this.batchAcks.removeAtOrBefore(p);
      this.advanceMarkDelete();
      changed = true;
    }
    if (changed) this.touch();
    return changed;
  }

  /** Individual acks; returns how many entries became acknowledged. */
  delete(positions: readonly Position[]): number {
    let n = 0;
    for (const p of positions) {
      if (comparePositions(p, this.md) <= 0 || !this.isValidEntry(p)) continue;
      if (this.acked.add(p)) n++;
      this.batchAcks.delete(p);
    }
    if (n > 0) {
      this.advanceMarkDelete();
      this.touch();
    }
    return n;
  }

  /** Batch-index acks; a batch acked completely is deleted as a whole entry. */
  deleteBatchIndexes(p: Position, batchSize: number, indexes: readonly number[]): boolean {
    if (this.isAcknowledged(p) || !this.isValidEntry(p)) return false;
    const r = this.batchAcks.ack(p, batchSize, indexes);
    if (r === 'complete') return this.delete([p]) > 0;
    if (r === 'partial') this.touch();
    return r === 'partial';
  }

  /** Move the mark-delete position over acknowledged ranges that directly follow it. */
  private advanceMarkDelete(): void {
    for (;;) {
      const next = this.list.nextPosition(this.md);
      const r = this.acked.rangeContaining(next);
      if (!r) break;
      this.md = { ledgerId: r.ledgerId, entryId: r.last };
      this.acked.removeAtOrBefore(this.md);
      this.batchAcks.removeAtOrBefore(this.md);
    }
    this.rp = this.skipAcked(maxPosition(this.rp, this.list.nextPosition(this.md)));
  }

  /** The first unacknowledged position at or after `p`. */
  skipAcked(p: Position): Position {
    let q = this.list.normalize(p);
    for (;;) {
      const r = this.acked.rangeContaining(q);
      if (!r) return q;
      q = this.list.nextPosition({ ledgerId: r.ledgerId, entryId: r.last });
    }
  }

  /** After reading entries up to and including `last`: the next read starts after it. */
  advanceReadPosition(last: Position): void {
    this.rp = this.skipAcked(maxPosition(this.rp, this.list.nextPosition(last)));
  }

  /** Move the read position only (rewind, redeliver); never before the first unacked entry. */
  seek(p: Position): void {
    this.rp = this.skipAcked(maxPosition(this.list.normalize(p), this.list.nextPosition(this.md)));
  }

  rewind(): void {
    this.rp = this.skipAcked(this.list.nextPosition(this.md));
  }

  /** Reset: everything before `p` acknowledged, nothing after it, read from `p`. */
  reset(p: Position): void {
    const last = this.lastPosition();
    const target = comparePositions(p, last) > 0 ? this.list.nextPosition(last) : this.list.normalize(p);
    this.md = { ledgerId: target.ledgerId, entryId: target.entryId - 1 };
    this.acked.clear();
    this.batchAcks.clear();
    this.rp = target;
    this.touch();
  }

  /** Acknowledge the next `count` unacknowledged entries cumulatively. Returns how many. */
  skip(count: number): number {
    let left = count;
    const last = this.lastPosition();
    while (left > 0) {
      const pos = this.list.nextPosition(this.md);
      if (comparePositions(pos, last) > 0 || !this.list.hasEntry(pos)) break;
      const r = this.acked.rangeContaining(pos);
      if (r) {
        this.md = { ledgerId: r.ledgerId, entryId: r.last };
        continue;
      }
      const ledgerEntries = this.list.ledgerEntries(pos.ledgerId) ?? 0;
      let stop = pos.ledgerId === last.ledgerId ? last.entryId : ledgerEntries - 1;
      const ceiling = this.acked.ceilingRange(pos);
      if (ceiling && ceiling.ledgerId === pos.ledgerId) stop = Math.min(stop, ceiling.first - 1);
      const take = Math.min(left, stop - pos.entryId + 1);
      this.md = { ledgerId: pos.ledgerId, entryId: pos.entryId + take - 1 };
      left -= take;
    }
    this.acked.removeAtOrBefore(this.md);
    this.batchAcks.removeAtOrBefore(this.md);
    this.advanceMarkDelete();
    if (left < count) this.touch();
    return count - left;
  }

  /** Acknowledge everything confirmed so far. */
  clearBacklog(): boolean {
    return this.markDelete(this.lastPosition());
  }

  /** Unacknowledged entries after the mark-delete position (msgBacklog). */
  backlogEntries(): number {
    const last = this.lastPosition();
    return this.list.countBetween(this.md, last) - this.acked.countBetween(this.md, last);
  }

  /** Estimated bytes of the backlog (acked holes are subtracted at the ledgers' average size). */
  backlogBytes(): number {
    const last = this.lastPosition();
    const total = this.list.estimateBytesBetween(this.md, last);
    const entries = this.list.countBetween(this.md, last);
    if (entries === 0) return 0;
    return Math.max(0, Math.round(total * (this.backlogEntries() / entries)));
  }

  /** Unacknowledged entries from the read position on. */
  entriesToRead(): number {
    const last = this.lastPosition();
    const rp = this.readPosition;
    const before = { ledgerId: rp.ledgerId, entryId: rp.entryId - 1 };
    return this.list.countBetween(before, last) - this.acked.countBetween(before, last);
  }

  hasMoreEntries(): boolean {
    const last = this.lastPosition();
    const rp = this.readPosition;
    return comparePositions(rp, last) <= 0 && this.list.hasEntry(rp);
  }

  /** Drop state below the first ledger (after trimming). */
  onLedgersTrimmed(firstLedgerId: number): void {
    this.acked.removeLedgersBefore(firstLedgerId);
    this.batchAcks.removeAtOrBefore({ ledgerId: firstLedgerId - 1, entryId: Number.MAX_SAFE_INTEGER });
    if (this.md.ledgerId < firstLedgerId) this.md = { ledgerId: firstLedgerId, entryId: -1 };
    this.rp = this.skipAcked(maxPosition(this.list.normalize(this.rp), this.list.nextPosition(this.md)));
  }

  individuallyDeletedRanges(): PositionRange[] {
    return this.acked.toArray().map((r) => ({
      from: { ledgerId: r.ledgerId, entryId: r.first },
      to: { ledgerId: r.ledgerId, entryId: r.last },
    }));
  }

  snapshot(maxRanges: number, maxBatchAcks: number): CursorSnapshot {
    return {
      markDelete: this.md,
      ranges: this.acked.toArray(maxRanges),
      batchAcks: this.batchAcks.sorted(maxBatchAcks),
      properties: this.props,
      truncated: this.acked.rangeCount > maxRanges || this.batchAcks.size > maxBatchAcks,
    };
  }

  private touch(): void {
    this.version++;
  }
}

/**
 * Decides when dirty cursor state is written: at most once per `intervalMs`, one write at a time,
 * and only when something changed since the last successful write.
 */
export class PersistRateLimiter {
  readonly intervalMs: number;
  private lastStartMs = Number.NEGATIVE_INFINITY;
  private inFlight = false;
  private persistedVersion = 0;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  isDirty(currentVersion: number): boolean {
    return currentVersion > this.persistedVersion;
  }

  get flushing(): boolean {
    return this.inFlight;
  }

  /** Milliseconds until a flush may start (0 = now); undefined when there is nothing to do yet. */
  delayUntilFlush(currentVersion: number, nowMs: number): number | undefined {
    if (this.inFlight || !this.isDirty(currentVersion)) return undefined;
    return Math.max(0, this.lastStartMs + this.intervalMs - nowMs);
  }

  begin(nowMs: number): void {
    this.inFlight = true;
    this.lastStartMs = nowMs;
  }

  /** A write finished; on success everything up to `version` is persisted. */
  end(ok: boolean, version: number): void {
    this.inFlight = false;
    if (ok) this.persistedVersion = Math.max(this.persistedVersion, version);
  }

  /** Mark `version` as persisted without a write (state restored from the store). */
  markPersisted(version: number): void {
    this.persistedVersion = Math.max(this.persistedVersion, version);
  }
}
