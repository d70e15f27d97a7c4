/**
 * ReadLac long polls: a poll waits until its ledger's LAC passes `previousLac`, the ledger is
 * deleted, its timeout fires, or the bookie closes. The number of waiting polls is bounded;
 * past the bound a poll is refused with TOO_MANY_REQUESTS rather than queued.
 */
import { BookieErrors } from '../errors.ts';

export type PollEnd = 'advanced' | 'timeout' | 'deleted' | 'closed' | 'cancelled';

interface Waiter {
  readonly previousLac: number;
  readonly done: (end: PollEnd) => void;
}

export interface PollHandle {
  readonly ended: Promise<PollEnd>;
  cancel(): void;
}

export class LacWaiters {
  readonly #max: number;
  readonly #byLedger = new Map<number, Set<Waiter>>();
  #count = 0;
  #closed = false;

  constructor(max: number) {
    this.#max = max;
  }

  get count(): number {
    return this.#count;
  }

  wait(ledgerId: number, previousLac: number, timeoutMs: number): PollHandle {
    if (this.#closed) throw BookieErrors.make('BOOKIE_SHUTTING_DOWN');
    if (this.#count >= this.#max)
      throw BookieErrors.make('BOOKIE_TOO_MANY_REQUESTS', { bound: 'maxLongPolls' });
    let set = this.#byLedger.get(ledgerId);
    if (!set) {
      set = new Set();
      this.#byLedger.set(ledgerId, set);
    }
    const waiters = set;
    let finish!: (end: PollEnd) => void;
    const ended = new Promise<PollEnd>((resolve) => {
      finish = resolve;
    });
    const w: Waiter = {
      previousLac,
      done: (end) => {
        if (!waiters.delete(w)) return;
        this.#count--;
        if (waiters.size === 0 && this.#byLedger.get(ledgerId) === waiters) this.#byLedger.delete(ledgerId);
        clearTimeout(timer);
        finish(end);
      },
    };
    const timer = setTimeout(() => w.done('timeout'), timeoutMs);
    waiters.add(w);
    this.#count++;
    return { ended, cancel: () => w.done('cancelled') };
  }

  /** The ledger's LAC is now `lac`. */
  advanced(ledgerId: number, lac: number): void {
    const set = this.#byLedger.get(ledgerId);
    if (!set) return;
    for (const w of [...set]) if (lac > w.previousLac) w.done('advanced');
  }

  deleted(ledgerId: number): void {
    for (const w of [...(this.#byLedger.get(ledgerId) ?? [])]) w.done('deleted');
  }

  closeAll(): void {
    this.#closed = true;
    for (const set of [...this.#byLedger.values()]) for (const w of [...set]) w.done('closed');
  }
}
