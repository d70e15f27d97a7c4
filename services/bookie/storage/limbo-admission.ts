/**
 * Normal adds to ledgers in limbo (limbo.ts): refused, since the bookie may have forgotten a
 * fence it had taken, unless the ledger's metadata is OPEN after the loss. A fence is only ever
 * sent after a recoverer moved the metadata to IN_RECOVERY, and the state never returns to OPEN,
 * so such a ledger was never fenced and may take normal adds; its entries stay in limbo for
 * reads. The metadata is read once per ledger and process, before the add stream admits the
 * message (the stream pauses meanwhile). Bounded: reads in flight and remembered states.
 */
import type { Logger } from '../../../lib/log/index.ts';

/** Metadata reads in flight at once (past it, adds of further ledgers are refused: safe). */
const MAX_CHECKS_IN_FLIGHT = 1000;
/** Ledgers whose metadata state is remembered (past it, further ones keep refusing: safe). */
const MAX_REMEMBERED = 1_000_000;

export class LimboAdmission {
  readonly #lookup: ((ledgerId: number) => Promise<boolean>) | undefined;
  readonly #log: Logger;
  /** true = OPEN after the loss; false = not OPEN (never becomes OPEN again) or absent. */
  readonly #state = new Map<number, boolean>();
  readonly #inFlight = new Map<number, Promise<void>>();

  constructor(lookup: ((ledgerId: number) => Promise<boolean>) | undefined, log: Logger) {
    this.#lookup = lookup;
    this.#log = log;
  }

  /** The ledger's metadata was seen OPEN since the start: its normal adds may be admitted. */
  seenOpen(ledgerId: number): boolean {
    return this.#state.get(ledgerId) === true;
  }

  /**
   * Read the metadata of the ledgers whose normal adds `refusing` would refuse; resolves when
   * done (a failed read leaves the ledger refusing, and is tried again next time); undefined
   * when nothing needs reading.
   */
  check(
    entries: readonly { ledgerId: number; recovery: boolean }[],
    refusing: (ledgerId: number) => boolean,
  ): Promise<void> | undefined {
    const lookup = this.#lookup;
    if (!lookup) return undefined;
    let waits: Promise<void>[] | undefined;
    let prevId = -1;
    for (const e of entries) {
      const id = e.ledgerId;
      if (id === prevId) continue;
      prevId = id;
      if (e.recovery || !Number.isSafeInteger(id) || id < 0 || this.#state.has(id) || !refusing(id)) continue;
      let p = this.#inFlight.get(id);
      if (!p) {
        if (this.#inFlight.size >= MAX_CHECKS_IN_FLIGHT) continue;
        p = lookup(id).then(
          (open) => {
            this.#inFlight.delete(id);
            if (this.#state.size < MAX_REMEMBERED) this.#state.set(id, open);
          },
          (err: unknown) => {
            this.#inFlight.delete(id);
            this.#log.warn(
              { err, ledgerId: id },
              'ledger metadata unreadable: limbo keeps refusing normal adds',
            );
          },
        );
        this.#inFlight.set(id, p);
      }
      (waits ??= []).push(p);
    }
    return waits && Promise.all(waits).then(() => undefined);
  }
}
