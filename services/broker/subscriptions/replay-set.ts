/**
 * Entries waiting for (re)delivery, kept in position order so replays go out oldest first.
 * Remembers each entry's metadata once known, so planning can skip entries that have nowhere to
 * go yet (Key_Shared blocked keys) without reading them again.
 */
import { comparePositions } from '../managed-ledger/api.ts';
import { type EntryMeta, type Position, posKey } from './types.ts';

export class ReplaySet {
  private readonly byKey = new Map<string, { position: Position; meta?: EntryMeta }>();
  private sorted: { position: Position; meta?: EntryMeta }[] = [];
  private dirty = false;
  /** Count of replay entries per known Key_Shared slot. */
  private readonly slots = new Map<number, number>();

  get size(): number {
    return this.byKey.size;
  }

  has(p: Position): boolean {
    return this.byKey.has(posKey(p));
  }

  add(position: Position, meta?: EntryMeta): void {
    const key = posKey(position);
    const existing = this.byKey.get(key);
    if (existing) {
      if (meta && !existing.meta) {
        existing.meta = meta;
        this.slots.set(meta.slot, (this.slots.get(meta.slot) ?? 0) + 1);
      }
      return;
    }
    const item = { position, meta };
    this.byKey.set(key, item);
    if (meta) this.slots.set(meta.slot, (this.slots.get(meta.slot) ?? 0) + 1);
    this.sorted.push(item);
    this.dirty = true;
  }

  remove(position: Position): boolean {
    const key = posKey(position);
    const item = this.byKey.get(key);
    if (!item) return false;
    this.byKey.delete(key);
    if (item.meta) this.decSlot(item.meta.slot);
    this.dirty = true;
    return true;
  }

  /** Remove every entry at or before `p`. */
  removeUpTo(p: Position): void {
    for (const item of [...this.byKey.values()]) {
      if (comparePositions(item.position, p) <= 0) this.remove(item.position);
    }
  }

  /** True when an entry of this slot waits here (newer entries of the slot must wait behind it). */
  hasSlot(slot: number): boolean {
    return (this.slots.get(slot) ?? 0) > 0;
  }

  /** Entries in position order, filtered by `eligible` (receives the known meta, if any). */
  take(max: number, eligible: (meta: EntryMeta | undefined) => boolean = () => true): Position[] {
    this.compact();
    const out: Position[] = [];
    for (const item of this.sorted) {
      if (out.length >= max) break;
      if (eligible(item.meta)) out.push(item.position);
    }
    return out;
  }

  positions(): Position[] {
    this.compact();
    return this.sorted.map((i) => i.position);
  }

  clear(): void {
    this.byKey.clear();
    this.sorted = [];
    this.slots.clear();
    this.dirty = false;
  }

  private compact(): void {
    if (!this.dirty) return;
    this.sorted = [...this.byKey.values()].sort((a, b) => comparePositions(a.position, b.position));
    this.dirty = false;
  }

  private decSlot(slot: number): void {
    const n = (this.slots.get(slot) ?? 0) - 1;
    if (n <= 0) this.slots.delete(slot);
    else this.slots.set(slot, n);
  }
}
