/**
 * What the bookie knows about one ledger: its state (master key, fenced, limbo, LAC) and where
 * its flushed entries are (the index). The index is paged: a page maps 256 consecutive entry ids
 * to slots `(entryLogId, offset, length)`; length 0 means "no entry". Pages written to the index
 * snapshot are referenced by file offset and read on demand; pages changed since the snapshot
 * live in memory (`delta`) and win over the snapshot's.
 */
export const PAGE_ENTRIES = 256;
export const SLOT_BYTES = 12;
export const PAGE_BYTES = PAGE_ENTRIES * SLOT_BYTES;

export interface Slot {
  readonly logId: number;
  readonly offset: number;
  readonly length: number;
}

export const LedgerFlags = { FENCED: 1, LIMBO: 2 } as const;

export class LedgerRecord {
  readonly ledgerId: number;
  masterKey: Buffer | undefined;
  fenced = false;
  /** This bookie may have lost entries of the ledger: never answer "no entry" for it. */
  limbo = false;
  /** Highest LAC carried by a stored entry (-1: none). */
  lac = -1;
  /** Highest entry id stored (write cache or index; -1: none). */
  lastEntryId = -1;
  /** State changed since the last checkpoint. */
  dirty = true;
  /** Pages changed since the index snapshot: pageNo -> Uint32Array(256 * 3). */
  readonly delta = new Map<number, Uint32Array>();
  /** Pages in the index snapshot: pageNo -> file offset of the page's slot bytes. */
  snapPages = new Map<number, number>();
  /** Bytes of this ledger's indexed entries per entry log (garbage collection accounting). */
  readonly bytesPerLog = new Map<number, number>();

  constructor(ledgerId: number) {
    this.ledgerId = ledgerId;
  }

  get flags(): number {
    return (this.fenced ? LedgerFlags.FENCED : 0) | (this.limbo ? LedgerFlags.LIMBO : 0);
  }

  setFlags(flags: number): void {
    this.fenced = (flags & LedgerFlags.FENCED) !== 0;
    this.limbo = (flags & LedgerFlags.LIMBO) !== 0;
  }

  noteEntry(entryId: number, lac: number): boolean {
    if (entryId > this.lastEntryId) this.lastEntryId = entryId;
    if (lac > this.lac) {
      this.lac = lac;
      this.dirty = true;
      return true;
    }
    return false;
  }

  /** Slot from the in-memory delta, if the delta has one. */
  deltaSlot(entryId: number): Slot | undefined {
    const page = this.delta.get(Math.floor(entryId / PAGE_ENTRIES));
    if (!page) return undefined;
    const i = (entryId % PAGE_ENTRIES) * 3;
    const length = page[i + 2];
    return length === 0 ? undefined : { logId: page[i], offset: page[i + 1], length };
  }

  /** File offset in the snapshot of this entry's slot, if its page is there. */
  snapSlotOffset(entryId: number): number | undefined {
    const base = this.snapPages.get(Math.floor(entryId / PAGE_ENTRIES));
    return base === undefined ? undefined : base + (entryId % PAGE_ENTRIES) * SLOT_BYTES;
  }

  /** Set a slot in the delta; returns the delta slot it replaced (accounting is the caller's). */
  setSlot(entryId: number, slot: Slot): Slot | undefined {
    const pageNo = Math.floor(entryId / PAGE_ENTRIES);
    let page = this.delta.get(pageNo);
    if (!page) {
      page = new Uint32Array(PAGE_ENTRIES * 3);
      this.delta.set(pageNo, page);
    }
    const i = (entryId % PAGE_ENTRIES) * 3;
    const prev = page[i + 2] === 0 ? undefined : { logId: page[i], offset: page[i + 1], length: page[i + 2] };
    page[i] = slot.logId;
    page[i + 1] = slot.offset;
    page[i + 2] = slot.length;
    if (entryId > this.lastEntryId) this.lastEntryId = entryId;
    return prev;
  }

  addLogBytes(logId: number, bytes: number): void {
    const v = (this.bytesPerLog.get(logId) ?? 0) + bytes;
    if (v <= 0) this.bytesPerLog.delete(logId);
    else this.bytesPerLog.set(logId, v);
  }

  /** Every page number holding slots (delta or snapshot), ascending. */
  pageNumbers(): number[] {
    const all = new Set<number>([...this.delta.keys(), ...this.snapPages.keys()]);
    return [...all].sort((a, b) => a - b);
  }
}

/** Decode slot `i` of a page held as bytes (little-endian u32 triples). */
export function slotAt(page: Uint8Array, i: number): Slot | undefined {
  const dv = new DataView(page.buffer, page.byteOffset + i * SLOT_BYTES, SLOT_BYTES);
  const length = dv.getUint32(8, true);
  return length === 0 ? undefined : { logId: dv.getUint32(0, true), offset: dv.getUint32(4, true), length };
}

/** A page as bytes: the snapshot's page (if any) with the delta's slots written over it. */
export function mergePage(snapshot: Uint8Array | undefined, delta: Uint32Array | undefined): Buffer {
  const out = Buffer.alloc(PAGE_BYTES);
  if (snapshot) out.set(snapshot.subarray(0, PAGE_BYTES));
  if (delta) {
    for (let e = 0; e < PAGE_ENTRIES; e++) {
      const i = e * 3;
      if (delta[i + 2] === 0) continue;
      out.writeUInt32LE(delta[i], e * SLOT_BYTES);
      out.writeUInt32LE(delta[i + 1], e * SLOT_BYTES + 4);
      out.writeUInt32LE(delta[i + 2], e * SLOT_BYTES + 8);
    }
  }
  return out;
}
