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

  /** Ledgers ascending, each with its entries ascending (the flush order), as parallel arrays. */
  *sorted(): Generator<{ ledgerId: number; entryIds: number[]; bodies: Buffer[] }> {
    const ids = [...this.#ledgers.keys()].sort((a, b) => a - b);
    for (const ledgerId of ids) {
      const m = this.#ledgers.get(ledgerId);
      if (!m) continue;
      // Two flat arrays, not an [id, body] pair per entry: a checkpoint of 100k entries made
      // 100k short-lived arrays. Entries usually arrive in order: then there is nothing to sort.
      const entryIds = Array.from(m.keys());
      let ordered = true;
      for (let i = 1; i < entryIds.length && ordered; i++) ordered = entryIds[i - 1] < entryIds[i];
      if (ordered) {
        yield { ledgerId, entryIds, bodies: Array.from(m.values()) };
        continue;
      }
      entryIds.sort((a, b) => a - b);
      yield { ledgerId, entryIds, bodies: entryIds.map((id) => m.get(id)!) };
    }
  }
}
