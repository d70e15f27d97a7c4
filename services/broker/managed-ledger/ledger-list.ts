/**
 * The ordered ledger list of a managed ledger and the decisions made on it: position
 * arithmetic across ledgers, entry counting, when to roll, which ledgers to trim. Pure: no I/O,
 * the clock and the jitter are arguments.
 */
import { assert } from '../../../lib/assert.ts';
import type { LedgerInfo, ManagedLedgerConfig, Position } from './api.ts';
import { comparePositions } from './api.ts';

/** In-memory ledger record; `offload` carries the stored offload context through rewrites. */
export interface LedgerRecord {
  readonly ledgerId: number;
  entries: number;
  sizeBytes: number;
  timestampMs: number;
  offload?: unknown;
}

export function toLedgerInfo(r: LedgerRecord): LedgerInfo {
  return {
    ledgerId: r.ledgerId,
    entries: r.entries,
    sizeBytes: r.sizeBytes,
    timestampMs: r.timestampMs,
    offloaded: isOffloadComplete(r.offload),
  };
}

function isOffloadComplete(o: unknown): boolean {
  return typeof o === 'object' && o !== null && (o as { complete?: boolean }).complete === true;
}

export class LedgerList {
  private list: LedgerRecord[];

  constructor(records: readonly LedgerRecord[] = []) {
    this.list = records.map((r) => ({ ...r }));
    for (let i = 1; i < this.list.length; i++)
      assert(this.list[i - 1].ledgerId < this.list[i].ledgerId, 'ledger ids increase along the list', {
        prev: this.list[i - 1].ledgerId,
        next: this.list[i].ledgerId,
      });
  }

  get records(): readonly LedgerRecord[] {
    return this.list;
  }

  get length(): number {
    return this.list.length;
  }

  get last(): LedgerRecord | undefined {
    return this.list[this.list.length - 1];
  }

  get first(): LedgerRecord | undefined {
    return this.list[0];
  }

  clone(): LedgerList {
    return new LedgerList(this.list);
  }

  /** Index of the first ledger with id >= ledgerId (length if none). */
  private lowerBound(ledgerId: number): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.list[mid].ledgerId < ledgerId) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(ledgerId: number): LedgerRecord | undefined {
    const r = this.list[this.lowerBound(ledgerId)];
    return r?.ledgerId === ledgerId ? r : undefined;
  }

  /** The ledger after `ledgerId` in the list (whether or not `ledgerId` itself is present). */
  nextLedger(ledgerId: number): LedgerRecord | undefined {
    return this.list[this.lowerBound(ledgerId + 1)];
  }

  previousLedger(ledgerId: number): LedgerRecord | undefined {
    return this.list[this.lowerBound(ledgerId) - 1];
  }

  append(r: LedgerRecord): void {
    const last = this.last;
    assert(!last || last.ledgerId < r.ledgerId, 'ledger ids increase along the list', {
      last: last?.ledgerId,
      next: r.ledgerId,
    });
    this.list.push({ ...r });
  }

  remove(ledgerIds: ReadonlySet<number>): void {
    this.list = this.list.filter((r) => !ledgerIds.has(r.ledgerId));
  }

  get totalEntries(): number {
    let n = 0;
    for (const r of this.list) n += r.entries;
    return n;
  }

  get totalSizeBytes(): number {
    let n = 0;
    for (const r of this.list) n += r.sizeBytes;
    return n;
  }

  /** Last entry of the list; (lastLedger, -1) when the last ledger is empty. */
  lastPosition(): Position {
    const last = this.last;
    assert(last, 'a managed ledger always has at least one ledger when asked for positions');
    return { ledgerId: last.ledgerId, entryId: last.entries - 1 };
  }

  /** First entry that may exist: the first ledger's entry 0. */
  firstPosition(): Position {
    const first = this.first;
    assert(first, 'a managed ledger always has at least one ledger when asked for positions');
    return { ledgerId: first.ledgerId, entryId: 0 };
  }

  /**
   * The canonical form of a "next entry to read" position: a position past the end of a
   * non-last ledger, inside a removed ledger or before the first ledger moves to the start of the
   * next existing ledger. Positions in the last ledger stay as they are (its entries grow).
   */
  normalize(p: Position): Position {
    const last = this.last;
    if (!last) return p;
    if (p.ledgerId >= last.ledgerId)
      return p.ledgerId === last.ledgerId ? { ...p, entryId: Math.max(0, p.entryId) } : p;
    const r = this.get(p.ledgerId);
    if (r && p.entryId < r.entries) return { ledgerId: p.ledgerId, entryId: Math.max(0, p.entryId) };
    const next = this.nextLedger(p.ledgerId);
    assert(next, 'a ledger below the last one has a successor');
    return this.normalize({ ledgerId: next.ledgerId, entryId: 0 });
  }

  /** The entry after `p` in topic order (normalized). */
  nextPosition(p: Position): Position {
    return this.normalize({ ledgerId: p.ledgerId, entryId: p.entryId + 1 });
  }

  /** True when an entry exists at the (normalized) position `p`. */
  hasEntry(p: Position): boolean {
    const r = this.get(p.ledgerId);
    return r !== undefined && p.entryId >= 0 && p.entryId < r.entries;
  }

  /** Entries of a ledger in the list (undefined when it is not in the list). */
  ledgerEntries(ledgerId: number): number | undefined {
    return this.get(ledgerId)?.entries;
  }

  /**
   * The position `offset` entries after `from` (offset 0 = `from` itself, normalized), walking
   * across ledgers; undefined when that is past the last entry.
   */
  positionAtOffset(from: Position, offset: number): Position | undefined {
    let p = this.normalize(from);
    let left = offset;
    for (;;) {
      const r = this.get(p.ledgerId);
      if (!r) return undefined;
      const inLedger = r.entries - p.entryId;
      if (left < inLedger) return { ledgerId: p.ledgerId, entryId: p.entryId + left };
      const next = this.nextLedger(p.ledgerId);
      if (!next) return undefined;
      left -= Math.max(0, inLedger);
      p = { ledgerId: next.ledgerId, entryId: 0 };
    }
  }

  /** Number of entries in (fromExclusive, toInclusive]. */
  countBetween(fromExclusive: Position, toInclusive: Position): number {
    if (comparePositions(fromExclusive, toInclusive) >= 0) return 0;
    let n = 0;
    for (let i = this.lowerBound(fromExclusive.ledgerId); i < this.list.length; i++) {
      const r = this.list[i];
      if (r.ledgerId > toInclusive.ledgerId) break;
      const lo = r.ledgerId === fromExclusive.ledgerId ? fromExclusive.entryId + 1 : 0;
      const hi =
        r.ledgerId === toInclusive.ledgerId ? Math.min(toInclusive.entryId, r.entries - 1) : r.entries - 1;
      if (hi >= lo) n += hi - lo + 1;
    }
    return n;
  }

  /** Estimated bytes of the entries in (fromExclusive, toInclusive] (average entry size per ledger). */
  estimateBytesBetween(fromExclusive: Position, toInclusive: Position): number {
    if (comparePositions(fromExclusive, toInclusive) >= 0) return 0;
    let bytes = 0;
    for (let i = this.lowerBound(fromExclusive.ledgerId); i < this.list.length; i++) {
      const r = this.list[i];
      if (r.ledgerId > toInclusive.ledgerId) break;
      if (r.entries === 0) continue;
      const lo = r.ledgerId === fromExclusive.ledgerId ? fromExclusive.entryId + 1 : 0;
      const hi =
        r.ledgerId === toInclusive.ledgerId ? Math.min(toInclusive.entryId, r.entries - 1) : r.entries - 1;
      if (hi >= lo) bytes += Math.round(((hi - lo + 1) * r.sizeBytes) / r.entries);
    }
    return bytes;
  }
}

/** State of the ledger being written, as the rollover decision sees it. */
export interface CurrentLedgerState {
  readonly entries: number;
  readonly sizeBytes: number;
  readonly createdMs: number;
  /** Creation time + maxLedgerRolloverTimeMs × (1 + jitter), fixed when the ledger was created. */
  readonly rollAtMs: number;
}

/** The moment a ledger created at `createdMs` rolls by age; `jitter` in [0, 1) times the fraction. */
export function rolloverDeadline(
  createdMs: number,
  config: ManagedLedgerConfig,
  jitterFraction: number,
  random01: number,
): number {
  return createdMs + Math.round(config.maxLedgerRolloverTimeMs * (1 + jitterFraction * random01));
}

export type RollDecision = 'keep' | 'full-entries' | 'full-size' | 'age';

/**
 * Whether the current ledger must roll now (internals.md §4.1 `currentLedgerIsFull`):
 * by entries or size (not sooner than the minimum rollover time), or by age (non-empty only).
 */
export function rolloverDecision(
  s: CurrentLedgerState,
  config: ManagedLedgerConfig,
  nowMs: number,
): RollDecision {
  if (s.entries === 0) return 'keep';
  const oldEnough = nowMs - s.createdMs >= config.minLedgerRolloverTimeMs;
  if (oldEnough && s.entries >= config.maxEntriesPerLedger) return 'full-entries';
  if (oldEnough && s.sizeBytes >= config.maxSizePerLedgerBytes) return 'full-size';
  if (nowMs >= s.rollAtMs) return 'age';
  return 'keep';
}

export interface TrimInput {
  readonly ledgers: readonly LedgerRecord[];
  readonly currentLedgerId: number;
  /** Mark-delete position of the slowest durable cursor; undefined when there is none. */
  readonly slowestDurableMarkDelete: Position | undefined;
  /** The ledger list, to find the first unconsumed entry after that mark-delete. */
  readonly list: LedgerList;
  readonly retentionTimeMs: number;
  readonly retentionSizeBytes: number;
  readonly nowMs: number;
}

/**
 * Ledgers to delete (internals.md §4.1 `internalTrimConsumedLedgers`): only ledgers entirely before
 * the slowest durable cursor (all but the current one when there is none); walking from the oldest,
 * delete while the ledger is past retention time OR the topic is over retention size, stop at the
 * first that is neither. -1 = unlimited, 0 = delete as soon as consumed.
 */
export function selectLedgersToTrim(input: TrimInput): number[] {
  const { ledgers, currentLedgerId } = input;
  const limitLedgerId = input.slowestDurableMarkDelete
    ? input.list.nextPosition(input.slowestDurableMarkDelete).ledgerId
    : currentLedgerId;
  let remainingSize = 0;
  for (const r of ledgers) remainingSize += r.sizeBytes;
  const out: number[] = [];
  for (const r of ledgers) {
    if (r.ledgerId >= limitLedgerId || r.ledgerId === currentLedgerId) break;
    const expired =
      input.retentionTimeMs === 0 ||
      (input.retentionTimeMs > 0 && input.nowMs - r.timestampMs > input.retentionTimeMs);
    const overSize =
      input.retentionSizeBytes === 0 ||
      (input.retentionSizeBytes > 0 && remainingSize > input.retentionSizeBytes);
    if (!expired && !overSize) break;
    out.push(r.ledgerId);
    remainingSize -= r.sizeBytes;
  }
  return out;
}
