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

  put(ledgerId: number, entryId: number, body: Buffer): void {
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

  deleteLedger(ledgerId: number): void {
    const m = this.#ledgers.get(ledgerId);
    if (!m) return;
    for (const b of m.values()) this.bytes -= b.length;
    this.entries -= m.size;
    this.#ledgers.delete(ledgerId);
  }

  /** Ledgers ascending, each with its entries ascending (the flush order). */
  *sorted(): Generator<{ ledgerId: number; entries: [number, Buffer][] }> {
    const ids = [...this.#ledgers.keys()].sort((a, b) => a - b);
    for (const ledgerId of ids) {
      const m = this.#ledgers.get(ledgerId);
      if (!m) continue;
      yield { ledgerId, entries: [...m.entries()].sort((a, b) => a[0] - b[0]) };
    }
  }
}
