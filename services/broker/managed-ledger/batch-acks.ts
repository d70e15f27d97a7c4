/**
 * Batch-index acknowledgements (internals.md §4.7): for each partly acknowledged entry, the
 * set of acked message indexes of its batch. An entry leaves this map when every index is acked
 * (the cursor then deletes the entry) or when the mark-delete position passes it. Pure.
 */
import type { Position } from './api.ts';
import { comparePositions } from './api.ts';

export interface BatchAckEntry {
  readonly position: Position;
  readonly batchSize: number;
  /** Bit i set = message i acknowledged (32 bits per word). */
  readonly words: Uint32Array;
  ackedCount: number;
}

const key = (p: Position) => `${p.ledgerId}:${p.entryId}`;

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export type BatchAckResult = 'partial' | 'complete' | 'unchanged';

export class BatchAckSet {
  private readonly entries = new Map<string, BatchAckEntry>();

  get size(): number {
    return this.entries.size;
  }

  get(p: Position): BatchAckEntry | undefined {
    return this.entries.get(key(p));
  }

  /**
   * Acknowledge `indexes` of the batch at `p`. Returns 'complete' when every index of the batch is
   * now acked (the entry is removed from the map; the caller deletes the entry itself).
   * Indexes outside 0..batchSize-1 are ignored; a different batchSize than recorded keeps the first.
   */
  ack(p: Position, batchSize: number, indexes: readonly number[]): BatchAckResult {
    if (!Number.isSafeInteger(batchSize) || batchSize <= 0) return 'unchanged';
    const k = key(p);
    let e = this.entries.get(k);
    if (!e) {
      e = { position: p, batchSize, words: new Uint32Array(Math.ceil(batchSize / 32)), ackedCount: 0 };
    }
    let changed = false;
    for (const i of indexes) {
      if (!Number.isInteger(i) || i < 0 || i >= e.batchSize) continue;
      const w = i >>> 5;
      const bit = 1 << (i & 31);
      if ((e.words[w] & bit) === 0) {
        e.words[w] = (e.words[w] | bit) >>> 0;
        e.ackedCount++;
        changed = true;
      }
    }
    if (e.ackedCount >= e.batchSize) {
      this.entries.delete(k);
      return 'complete';
    }
    if (!changed) return 'unchanged';
    this.entries.set(k, e);
    return 'partial';
  }

  /** Restore a persisted entry (acked words as stored). */
  restore(p: Position, batchSize: number, words: readonly number[]): void {
    if (!Number.isSafeInteger(batchSize) || batchSize <= 0) return;
    const e: BatchAckEntry = {
      position: p,
      batchSize,
      words: new Uint32Array(Math.ceil(batchSize / 32)),
      ackedCount: 0,
    };
    for (let w = 0; w < e.words.length && w < words.length; w++) {
      // Bits beyond batchSize in the last word are dropped.
      const valid =
        w === e.words.length - 1 && batchSize % 32 !== 0 ? (1 << (batchSize % 32)) - 1 : 0xffffffff;
      e.words[w] = (words[w] & valid) >>> 0;
      e.ackedCount += popcount(e.words[w]);
    }
    if (e.ackedCount > 0 && e.ackedCount < batchSize) this.entries.set(key(p), e);
  }

  /** Sorted acked indexes of the entry at `p`, or undefined when it has none recorded. */
  ackedIndexes(p: Position): number[] | undefined {
    const e = this.entries.get(key(p));
    if (!e) return undefined;
    const out: number[] = [];
    for (let i = 0; i < e.batchSize; i++) if (e.words[i >>> 5] & (1 << (i & 31))) out.push(i);
    return out;
  }

  delete(p: Position): void {
    this.entries.delete(key(p));
  }

  /** Drop every entry at or before `p`. */
  removeAtOrBefore(p: Position): void {
    for (const [k, e] of this.entries) if (comparePositions(e.position, p) <= 0) this.entries.delete(k);
  }

  /** Entries in position order, at most `limit`. */
  sorted(limit = Number.MAX_SAFE_INTEGER): BatchAckEntry[] {
    return [...this.entries.values()]
      .sort((a, b) => comparePositions(a.position, b.position))
      .slice(0, limit);
  }

  clear(): void {
    this.entries.clear();
  }
}
