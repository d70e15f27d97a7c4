/**
 * Cache of recent entries so tailing consumers never touch the bookies (internals.md §4.1).
 * One budget in bytes is shared by every topic of the broker: when an insert takes the total
 * over the budget, the oldest inserted entries (of any topic) are evicted until the total is at
 * the eviction watermark. Each topic also drops entries every cursor has read past. Pure
 * bookkeeping: no I/O, no timers.
 */
import { assert } from '../../../lib/assert.ts';
import type { EntryCacheStats, Position } from './api.ts';

interface Slot {
  readonly cache: EntryCache;
  readonly ledgerId: number;
  readonly entryId: number;
  readonly data: Uint8Array;
}

export interface EntryCacheLimits {
  readonly maxSizeBytes: number;
  /** Evict down to this fraction of the budget. */
  readonly evictionWatermark: number;
  readonly maxEntrySizeBytes: number;
}

export class EntryCacheManager {
  readonly limits: EntryCacheLimits;
  /** Insertion order across all topics: the eviction order. */
  private readonly fifo = new Map<string, Slot>();
  private nextCacheId = 0;
  private sizeBytes = 0;
  private hits = 0;
  private misses = 0;
  private evictedBytes = 0;

  constructor(limits: EntryCacheLimits) {
    assert(limits.maxSizeBytes >= 0, 'cache budget >= 0', { ...limits });
    this.limits = limits;
  }

  /** A per-topic view sharing this budget. */
  createCache(name: string): EntryCache {
    return new EntryCache(this, name, this.nextCacheId++);
  }

  stats(): EntryCacheStats {
    return {
      sizeBytes: this.sizeBytes,
      maxSizeBytes: this.limits.maxSizeBytes,
      entries: this.fifo.size,
      hits: this.hits,
      misses: this.misses,
      evictedBytes: this.evictedBytes,
    };
  }

  /** @internal */ recordLookup(hit: boolean): void {
    if (hit) this.hits++;
    else this.misses++;
  }

  /** @internal */ insert(slotKey: string, slot: Slot): boolean {
    const size = slot.data.byteLength;
    if (size > this.limits.maxEntrySizeBytes || size > this.limits.maxSizeBytes) return false;
    if (this.fifo.has(slotKey)) return false;
    this.fifo.set(slotKey, slot);
    this.sizeBytes += size;
    if (this.sizeBytes > this.limits.maxSizeBytes) this.evictOldest();
    return this.fifo.has(slotKey);
  }

  /** @internal */ remove(slotKey: string): void {
    const slot = this.fifo.get(slotKey);
    if (!slot) return;
    this.fifo.delete(slotKey);
    this.sizeBytes -= slot.data.byteLength;
  }

  private evictOldest(): void {
    const target = Math.floor(this.limits.maxSizeBytes * this.limits.evictionWatermark);
    for (const [k, slot] of this.fifo) {
      if (this.sizeBytes <= target) break;
      this.fifo.delete(k);
      this.sizeBytes -= slot.data.byteLength;
      this.evictedBytes += slot.data.byteLength;
      slot.cache.forget(slot.ledgerId, slot.entryId);
    }
  }
}

/** The cache of one managed ledger. */
export class EntryCache {
  readonly name: string;
  private readonly manager: EntryCacheManager;
  private readonly id: number;
  private readonly byLedger = new Map<number, Map<number, Uint8Array>>();
  private bytes = 0;
  private count = 0;

  constructor(manager: EntryCacheManager, name: string, id: number) {
    this.manager = manager;
    this.name = name;
    this.id = id;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get entries(): number {
    return this.count;
  }

  private slotKey(ledgerId: number, entryId: number): string {
    return `${this.id}/${ledgerId}/${entryId}`;
  }

  /** Cache an entry (no-op if too large or already present). Returns whether it is cached. */
  put(p: Position, data: Uint8Array): boolean {
    const existing = this.byLedger.get(p.ledgerId)?.get(p.entryId);
    if (existing) return true;
    let ledger = this.byLedger.get(p.ledgerId);
    if (!ledger) {
      ledger = new Map();
      this.byLedger.set(p.ledgerId, ledger);
    }
    // Record first: the manager may evict this very entry (or others of ours) while inserting.
    ledger.set(p.entryId, data);
    this.bytes += data.byteLength;
    this.count++;
    const kept = this.manager.insert(this.slotKey(p.ledgerId, p.entryId), {
      cache: this,
      ledgerId: p.ledgerId,
      entryId: p.entryId,
      data,
    });
    if (!kept) this.forget(p.ledgerId, p.entryId);
    return kept;
  }

  /** Look up one entry, counting a hit or a miss. */
  get(p: Position): Uint8Array | undefined {
    const data = this.byLedger.get(p.ledgerId)?.get(p.entryId);
    this.manager.recordLookup(data !== undefined);
    return data;
  }

  has(p: Position): boolean {
    return this.byLedger.get(p.ledgerId)?.has(p.entryId) ?? false;
  }

  /** Drop every entry at or before `p` (all readers are past it). */
  invalidateAtOrBefore(p: Position): void {
    for (const [ledgerId, ledger] of this.byLedger) {
      if (ledgerId > p.ledgerId) continue;
      for (const entryId of ledger.keys()) {
        if (ledgerId < p.ledgerId || entryId <= p.entryId) this.drop(ledgerId, entryId);
      }
    }
  }

  /** Drop every entry of a ledger (deleted or trimmed). */
  invalidateLedger(ledgerId: number): void {
    const ledger = this.byLedger.get(ledgerId);
    if (!ledger) return;
    for (const entryId of [...ledger.keys()]) this.drop(ledgerId, entryId);
  }

  clear(): void {
    for (const [ledgerId, ledger] of this.byLedger)
      for (const entryId of [...ledger.keys()]) this.drop(ledgerId, entryId);
  }

  private drop(ledgerId: number, entryId: number): void {
    this.manager.remove(this.slotKey(ledgerId, entryId));
    this.forget(ledgerId, entryId);
  }

  /** @internal Called by the manager after it evicted the slot. */
  forget(ledgerId: number, entryId: number): void {
    const ledger = this.byLedger.get(ledgerId);
    const data = ledger?.get(entryId);
    if (!ledger || !data) return;
    ledger.delete(entryId);
    if (ledger.size === 0) this.byLedger.delete(ledgerId);
    this.bytes -= data.byteLength;
    this.count--;
  }
}
