/**
 * Write cache: entries made durable by the journal but not yet written to an entry log, by
 * (ledger, entry). A checkpoint swaps in a fresh cache and writes the old one out sorted by
 * ledger and entry, so one ledger's entries end up contiguous in the entry log.
 * The byte bound is enforced by the add path (admission waits for room), not here.
 *
 * The cache holds no object per entry: each ledger keeps (entry id, slab, offset, length) rows in
 * one typed array, and entry bodies stay in the journal's slabs. A Buffer view per cached entry
 * (plus a Map slot) lived for seconds, so every young-generation GC copied and promoted the
 * views of the last few hundred milliseconds of adds: 5-25 ms pauses at 80k adds/s, the largest
 * part of the bookie's add-latency tail. Views are made only when an entry is read or written out.
 */

/** The slabs entry copies live in (the journal's SlabPool). */
export interface SlabMemory {
  /** Id of the pooled slab `body` is a view of, or -1 for other memory. */
  slabIdOf(body: Uint8Array): number;
  /** The slab with that id; valid while a cached entry holds it. */
  slabBuffer(id: number): Buffer;
  /** One cached entry in the slab is gone. */
  releaseSlab(id: number): void;
}

const ROW = 4; // entry id, memory handle, offset, length
const FIRST_ROWS = 64;

/** One ledger's cached entries. Rows are appended; a replaced entry's row is overwritten. */
class LedgerRows {
  rows = new Float64Array(FIRST_ROWS * ROW);
  count = 0;
  /** Row of an entry id, once ids stopped being consecutive from the first row's. */
  byId: Map<number, number> | undefined;

  /** The row holding `entryId`, or -1. */
  rowOf(entryId: number): number {
    if (this.byId) return this.byId.get(entryId) ?? -1;
    const row = this.count === 0 ? -1 : entryId - this.rows[0];
    return row >= 0 && row < this.count ? row : -1;
  }

  /** Append a row for an entry id not held yet. */
  append(entryId: number): number {
    if (!this.byId && this.count > 0 && entryId !== this.rows[0] + this.count) {
      this.byId = new Map();
      for (let r = 0; r < this.count; r++) this.byId.set(this.rows[r * ROW], r);
    }
    if ((this.count + 1) * ROW > this.rows.length) {
      const grown = new Float64Array(this.rows.length * 2);
      grown.set(this.rows);
      this.rows = grown;
    }
    const row = this.count++;
    this.rows[row * ROW] = entryId;
    this.byId?.set(entryId, row);
    return row;
  }

  /** Rows in ascending entry-id order. */
  order(): ArrayLike<number> {
    const order = new Uint32Array(this.count);
    for (let r = 0; r < this.count; r++) order[r] = r;
    if (this.byId) order.sort((a, b) => this.rows[a * ROW] - this.rows[b * ROW]);
    return order;
  }
}

/** One ledger's entries, ascending, as a checkpoint writes them out. */
export interface CachedLedger {
  readonly ledgerId: number;
  readonly count: number;
  entryId(i: number): number;
  /**
   * A fresh view of the i-th entry's body (not to be kept past the cache's release), or undefined
   * once the ledger was deleted from the cache (its memory may be reused).
   */
  body(i: number): Buffer | undefined;
}

export class WriteCache {
  readonly #memory: SlabMemory;
  readonly #ledgers = new Map<number, LedgerRows>();
  /** Bodies outside the slabs (journal replay, tests), by handle -1 - index. */
  readonly #pinned: (Buffer | undefined)[] = [];
  bytes = 0;
  entries = 0;

  constructor(memory: SlabMemory) {
    this.#memory = memory;
  }

  /** Hold `body` (a slab view keeps its slab held until released) for (ledger, entry). */
  put(ledgerId: number, entryId: number, body: Buffer): void {
    let led = this.#ledgers.get(ledgerId);
    if (!led) {
      led = new LedgerRows();
      this.#ledgers.set(ledgerId, led);
    }
    let row = led.rowOf(entryId);
    if (row >= 0) {
      this.bytes -= led.rows[row * ROW + 3];
      this.#release(led.rows[row * ROW + 1]);
    } else {
      row = led.append(entryId);
      this.entries++;
    }
    const slabId = this.#memory.slabIdOf(body);
    const at = row * ROW;
    if (slabId >= 0) {
      led.rows[at + 1] = slabId;
      led.rows[at + 2] = body.byteOffset;
    } else {
      this.#pinned.push(body);
      led.rows[at + 1] = -this.#pinned.length;
      led.rows[at + 2] = 0;
    }
    led.rows[at + 3] = body.length;
    this.bytes += body.length;
  }

  get(ledgerId: number, entryId: number): Buffer | undefined {
    const led = this.#ledgers.get(ledgerId);
    const row = led ? led.rowOf(entryId) : -1;
    return row < 0 ? undefined : this.#view(led!.rows, row);
  }

  hasLedger(ledgerId: number): boolean {
    return this.#ledgers.has(ledgerId);
  }

  /** Entry ids held for a ledger (unsorted). */
  *entryIds(ledgerId: number): Generator<number> {
    const led = this.#ledgers.get(ledgerId);
    for (let r = 0; led && r < led.count; r++) yield led.rows[r * ROW];
  }

  /** Drop a ledger's entries and release their memory. */
  deleteLedger(ledgerId: number): void {
    const led = this.#ledgers.get(ledgerId);
    if (!led) return;
    this.#releaseRows(led);
    this.entries -= led.count;
    this.#ledgers.delete(ledgerId);
  }

  /** Release every entry's memory (once written elsewhere); the cache is empty afterwards. */
  releaseAll(): void {
    for (const led of this.#ledgers.values()) this.#releaseRows(led);
    this.#ledgers.clear();
    this.#pinned.length = 0;
    this.entries = 0;
  }

  /** Ledgers ascending, each with its entries ascending (the flush order). */
  *sorted(): Generator<CachedLedger> {
    const ids = [...this.#ledgers.keys()].sort((a, b) => a - b);
    for (const ledgerId of ids) {
      const led = this.#ledgers.get(ledgerId);
      if (!led) continue;
      const order = led.order();
      const rows = led.rows;
      yield {
        ledgerId,
        count: order.length,
        entryId: (i) => rows[order[i] * ROW],
        body: (i) => (this.#ledgers.get(ledgerId) === led ? this.#view(rows, order[i]) : undefined),
      };
    }
  }

  #view(rows: Float64Array, row: number): Buffer {
    const at = row * ROW;
    const handle = rows[at + 1];
    if (handle < 0) return this.#pinned[-1 - handle]!;
    const off = rows[at + 2];
    return this.#memory.slabBuffer(handle).subarray(off, off + rows[at + 3]);
  }

  #releaseRows(led: LedgerRows): void {
    for (let r = 0; r < led.count; r++) {
      this.bytes -= led.rows[r * ROW + 3];
      this.#release(led.rows[r * ROW + 1]);
    }
  }

  #release(handle: number): void {
    if (handle >= 0) this.#memory.releaseSlab(handle);
    else this.#pinned[-1 - handle] = undefined;
  }
}
