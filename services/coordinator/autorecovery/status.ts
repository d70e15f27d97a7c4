/**
 * What autorecovery reports: /status/autorecovery JSON (under-replicated, in progress, waiting,
 * done, failed) and Prometheus metrics. Bounded: each list keeps at most `maxLedgers` entries
 * (the oldest done are dropped first).
 */
import type { Counter, Gauge, Metrics } from '../../../lib/metrics/index.ts';

interface InProgress {
  startedAtMs: number;
  entriesCopied: number;
  bytesCopied: number;
  fragmentsPlanned: number;
  fragmentsDone: number;
}

interface Done {
  ledgerId: number;
  finishedAtMs: number;
  entries: number;
  bytes: number;
  replaced: string[];
}

export class RecoveryStatus {
  readonly #max: number;
  readonly inProgress = new Map<number, InProgress>();
  readonly waiting = new Map<number, number>();
  readonly failed = new Map<number, { error: string; attempts: number; gaveUp: boolean; atMs: number }>();
  readonly done: Done[] = [];
  #doneAcc = new Map<number, { entries: number; bytes: number; replaced: string[] }>();
  totals = {
    ledgersRereplicated: 0,
    fragmentsRereplicated: 0,
    entriesCopied: 0,
    bytesCopied: 0,
    failures: 0,
  };
  readonly #m?: {
    ledgers: Counter<string>;
    entries: Counter<string>;
    bytes: Counter<string>;
    failures: Counter<string>;
    inProgress: Gauge<string>;
    underReplicated: Gauge<string>;
    lostBookies: Gauge<string>;
  };

  constructor(maxLedgers: number, metrics?: Metrics) {
    this.#max = maxLedgers;
    if (!metrics) return;
    this.#m = {
      ledgers: metrics.counter(
        'magnetar_autorecovery_ledgers_rereplicated_total',
        'Ledgers brought back to full replication',
      ),
      entries: metrics.counter(
        'magnetar_autorecovery_entries_copied_total',
        'Entries copied to replacement bookies',
      ),
      bytes: metrics.counter(
        'magnetar_autorecovery_bytes_copied_total',
        'Entry bytes copied to replacement bookies',
      ),
      failures: metrics.counter('magnetar_autorecovery_failures_total', 'Failed re-replication attempts'),
      inProgress: metrics.gauge(
        'magnetar_autorecovery_in_progress_ledgers',
        'Ledgers being re-replicated now',
      ),
      underReplicated: metrics.gauge(
        'magnetar_autorecovery_under_replicated_ledgers',
        'Ledgers marked under-replicated',
      ),
      lostBookies: metrics.gauge(
        'magnetar_autorecovery_lost_bookies',
        'Bookies named by ledgers and gone past the delay, or decommissioned',
      ),
    };
  }

  setGauges(underReplicated: number, lostBookies: number): void {
    this.#m?.underReplicated.set(underReplicated);
    this.#m?.lostBookies.set(lostBookies);
  }

  started(ledgerId: number): void {
    this.waiting.delete(ledgerId);
    this.inProgress.set(ledgerId, {
      startedAtMs: Date.now(),
      entriesCopied: 0,
      bytesCopied: 0,
      fragmentsPlanned: 0,
      fragmentsDone: 0,
    });
    this.#m?.inProgress.set(this.inProgress.size);
  }

  planned(ledgerId: number, fragmentsLeft: number): void {
    const p = this.inProgress.get(ledgerId);
    if (p) p.fragmentsPlanned = Math.max(p.fragmentsPlanned, p.fragmentsDone + fragmentsLeft);
  }

  progress(ledgerId: number, entries: number, bytes: number): void {
    const p = this.inProgress.get(ledgerId);
    if (!p) return;
    const acc = this.#doneAcc.get(ledgerId);
    p.entriesCopied = (acc?.entries ?? 0) + entries;
    p.bytesCopied = (acc?.bytes ?? 0) + bytes;
  }

  fragmentDone(ledgerId: number, entries: number, bytes: number, from: string, to: string): void {
    const acc = this.#doneAcc.get(ledgerId) ?? { entries: 0, bytes: 0, replaced: [] };
    acc.entries += entries;
    acc.bytes += bytes;
    acc.replaced.push(`${from}->${to}`);
    this.#doneAcc.set(ledgerId, acc);
    const p = this.inProgress.get(ledgerId);
    if (p) p.fragmentsDone++;
    this.totals.fragmentsRereplicated++;
    this.totals.entriesCopied += entries;
    this.totals.bytesCopied += bytes;
    this.#m?.entries.inc(entries);
    this.#m?.bytes.inc(bytes);
  }

  /** The ledger waits (open last fragment within its grace period). */
  waitingUntil(ledgerId: number, untilMs: number): void {
    this.#end(ledgerId);
    this.waiting.set(ledgerId, untilMs);
  }

  finished(ledgerId: number, copied: boolean): void {
    const acc = this.#doneAcc.get(ledgerId) ?? { entries: 0, bytes: 0, replaced: [] };
    this.#end(ledgerId);
    this.failed.delete(ledgerId);
    this.waiting.delete(ledgerId);
    if (!copied) return;
    this.totals.ledgersRereplicated++;
    this.#m?.ledgers.inc();
    this.done.push({ ledgerId, finishedAtMs: Date.now(), ...acc });
    while (this.done.length > this.#max) this.done.shift();
  }

  failedAttempt(ledgerId: number, error: string, attempts: number, gaveUp: boolean): void {
    this.#end(ledgerId);
    this.totals.failures++;
    this.#m?.failures.inc();
    if (this.failed.size >= this.#max && !this.failed.has(ledgerId))
      this.failed.delete(this.failed.keys().next().value!);
    this.failed.set(ledgerId, { error, attempts, gaveUp, atMs: Date.now() });
  }

  #end(ledgerId: number): void {
    this.inProgress.delete(ledgerId);
    this.#doneAcc.delete(ledgerId);
    this.#m?.inProgress.set(this.inProgress.size);
  }

  toJSON(extra: Record<string, unknown>) {
    const cap = <T>(xs: T[]) => xs.slice(0, this.#max);
    return {
      ...extra,
      inProgress: cap([...this.inProgress].map(([ledgerId, p]) => ({ ledgerId, ...p }))),
      waiting: cap([...this.waiting].map(([ledgerId, untilMs]) => ({ ledgerId, untilMs }))),
      done: [...this.done].reverse(),
      failed: cap([...this.failed].map(([ledgerId, f]) => ({ ledgerId, ...f }))),
      totals: this.totals,
    };
  }
}
