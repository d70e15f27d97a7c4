/**
 * Trimming (internals.md §4.1): delete whole ledgers that every durable cursor has consumed and
 * that retention no longer protects. The new list is CAS-written first; only then are the
 * ledgers deleted from the bookies (a crash in between leaves orphans, never a dangling list).
 * One trim at a time; a request during a run schedules one more run.
 */
import { comparePositions, type Position } from './api.ts';
import { selectLedgersToTrim } from './ledger-list.ts';
import type { ManagedLedgerImpl } from './managed-ledger.ts';
import { deleteLedgers } from './ml-open.ts';

export class Trimmer {
  private readonly ml: ManagedLedgerImpl;
  private running: Promise<void> | undefined;
  private again = false;
  /** Ledgers deleted by this instance (stats, tests). */
  trimmedLedgers = 0;

  constructor(ml: ManagedLedgerImpl) {
    this.ml = ml;
  }

  trim(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      try {
        do {
          this.again = false;
          await this.runOnce();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    this.running = run;
    return run;
  }

  private slowestDurableMarkDelete(): Position | undefined {
    let slowest: Position | undefined;
    for (const c of this.ml.durableCursors()) {
      // The persisted position, not the in-memory one: a new owner restores only what was written.
      const md = c.persistedMarkDeletePosition;
      if (!slowest || comparePositions(md, slowest) < 0) slowest = md;
    }
    return slowest;
  }

  private async runOnce(): Promise<void> {
    const ml = this.ml;
    if (ml.state !== 'Open' && ml.state !== 'Terminated') return;
    const last = ml.list.last;
    if (!last) return;
    const ids = selectLedgersToTrim({
      ledgers: ml.list.records,
      currentLedgerId: last.ledgerId,
      slowestDurableMarkDelete: this.slowestDurableMarkDelete(),
      list: ml.list,
      retentionTimeMs: ml.config.retentionTimeMs,
      retentionSizeBytes: ml.config.retentionSizeBytes,
      nowMs: ml.now(),
    });
    if (ids.length === 0) return;
    const gone = new Set(ids);
    await ml.updateList(
      (next) => {
        next.remove(gone);
        return { openLedgerId: ml.openLedgerId, changes: {} };
      },
      () => {
        ml.list.remove(gone);
        const first = ml.list.first;
        if (first) for (const c of ml.cursorsInternal()) c.core.onLedgersTrimmed(first.ledgerId);
      },
    );
    for (const id of ids) {
      ml.cache.invalidateLedger(id);
      await ml.reader.forget(id);
    }
    const failed = await deleteLedgers(ml.ctx, ml.name, ids);
    this.trimmedLedgers += ids.length - failed.length;
    ml.log.info({ name: ml.name, ledgers: ids, orphans: failed }, 'trimmed consumed ledgers');
  }
}
