/**
 * Write cache: entries made durable by the journal but not yet written to an entry log, by
 * (ledger, entry). A checkpoint swaps in a fresh cache and writes the old one out sorted by
 * ledger and entry, so one ledger's entries end up contiguous in the entry log.
 * The byte bound is enforced by the add path (admission waits for room), not here.
 */
export class WriteCache {
  readonly #ledgers = new Map<number, Map<number, Buffer>>();
  bytes = 0;
  entries = 0;

  /** Returns the body it replaced, if any (the caller releases its memory). */
  put(ledgerId: number, entryId: number, body: Buffer): Buffer | undefined {
    let m = this.#ledgers.get(ledgerId);
    if (!m) {
      m = new Map();
      this.#ledgers.set(ledgerId, m);
    }
    const prev = m.get(entryId);
    if (prev) this.bytes -= prev.length;
    else this.entries++;
    m.set(entryId, body);
    this.bytes += body.length;
    return prev;
  }

  get(ledgerId: number, entryId: number): Buffer | undefined {
    return this.#ledgers.get(ledgerId)?.get(entryId);
  }

  hasLedger(ledgerId: number): boolean {
    return this.#ledgers.has(ledgerId);
  }

  /** Entry ids held for a ledger (unsorted). */
  entryIds(ledgerId: number): IterableIterator<number> | undefined {
    return this.#ledgers.get(ledgerId)?.keys();
  }

  /** Drop a ledger's entries; `release` gets each body. */
  deleteLedger(ledgerId: number, release: (body: Buffer) => void): void {
    const m = this.#ledgers.get(ledgerId);
    if (!m) return;
    for (const b of m.values()) {
      this.bytes -= b.length;
      release(b);
    }
    this.entries -= m.size;
    this.#ledgers.delete(ledgerId);
  }

  /** Every body held (to release them once written elsewhere). */
  *bodies(): Generator<Buffer> {
    for (const m of this.#ledgers.values()) yield* m.values();
  }

  /** Ledgers ascending, each with its entries ascending (the flush order). */
  *sorted(): Generator<{ ledgerId: number; entries: [number, Buffer][] }> {
    const ids = [...this.#ledgers.keys()].sort((a, b) => a - b);
    for (const ledgerId of ids) {
      const m = this.#ledgers.get(ledgerId);
      if (!m) continue;
      const entries = [...m.entries()];
      // Entries usually arrive in order: skip the sort (costly for 100k entries) when they did.
      let ordered = true;
      for (let i = 1; i < entries.length && ordered; i++) ordered = entries[i - 1][0] < entries[i][0];
      if (!ordered) entries.sort((a, b) => a[0] - b[0]);
      yield { ledgerId, entries };
    }
  }
}
