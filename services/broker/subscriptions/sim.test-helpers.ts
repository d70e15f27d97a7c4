/**
 * Test-only model of a cursor over a log of entries, driving a pure dispatcher the way the real
 * driver does (plan → read/replay → dispatch). Used by the seeded randomized dispatcher tests.
 */
import { keySharedSlot } from '../../../lib/wire/hash.ts';
import type { EntryMeta, Position } from './types.ts';

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

export interface LogEntry extends EntryMeta {
  readonly key: number;
  readonly index: number;
}

export function makeLog(n: number, keys: number, random: () => number, maxBatch = 3): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = 0; i < n; i++) {
    const key = Math.floor(random() * keys);
    out.push({
      position: { ledgerId: 1 + Math.floor(i / 50), entryId: i % 50 },
      numMessages: 1 + Math.floor(random() * maxBatch),
      slot: keySharedSlot(Buffer.from(`key-${key}`)),
      key,
      index: i,
    });
  }
  return out;
}

/** Cursor model: read position over the published prefix, individually acked set. */
export class ModelCursor {
  readonly log: readonly LogEntry[];
  published = 0;
  readPos = 0;
  readonly acked = new Set<number>();

  constructor(log: readonly LogEntry[]) {
    this.log = log;
  }

  indexOf(p: Position): number {
    return (p.ledgerId - 1) * 50 + p.entryId;
  }

  read(max: number): LogEntry[] {
    const out: LogEntry[] = [];
    while (this.readPos < this.published && out.length < max) {
      const e = this.log[this.readPos++];
      if (!this.acked.has(e.index)) out.push(e);
    }
    return out;
  }

  replay(positions: readonly Position[]): { found: LogEntry[]; missing: Position[] } {
    const found: LogEntry[] = [];
    const missing: Position[] = [];
    for (const p of positions) {
      const i = this.indexOf(p);
      if (this.acked.has(i)) missing.push(p);
      else found.push(this.log[i]);
    }
    return { found, missing };
  }

  rewind(): void {
    let i = 0;
    while (i < this.published && this.acked.has(i)) i++;
    this.readPos = i;
  }

  seek(p: Position): void {
    this.readPos = this.indexOf(p);
  }
}
