/**
 * One ledger recovery pass (internals.md §1.9; BookKeeper LedgerRecoveryOp), as a pure state
 * machine. The caller has already set the metadata to IN_RECOVERY by CAS. Then:
 *
 * 1. Fence: a fencing LAC read to every bookie of the last ensemble, until covered (every write
 *    set has Qw − Qa + 1 fenced answers). The old writer can no longer reach Qa anywhere.
 * 2. Start point = max(max LAC seen, first entry of the last fragment − 1). Earlier fragments
 *    were sealed by an ensemble change at a confirmed LAC and are complete.
 * 3. Read forward from start + 1, a window at a time. Every recovery read FENCES too, so a
 *    bookie that said NO_ENTRY can never accept that entry from the old writer afterwards
 *    (the defect Vanlightly/bookkeeper-tlaplus found: without it an add can reach Qa after the
 *    ledger was closed shorter). Found → write back; absent (Qw − Qa + 1 NO_ENTRY) → the end.
 * 4. Every entry from start + 1 to the first absent one − 1 is written back to its whole write
 *    set with recovery adds (through the driver's add sequencer), in order. If a bookie fails
 *    during write-back, the ensemble change waits until reading is done (see `readingDone`).
 * 5. Once all write-backs are confirmed: close at (first absent − 1), by CAS (the driver).
 *
 * The `defects` switches re-introduce the known protocol defects; only tests set them, to show
 * that the simulation catches each one.
 */
import { assert } from '../../assert.ts';
import { readEnvelopeHeader } from '../envelope.ts';
import type { LedgerFailure } from './add-sequencer.ts';
import { writeSet } from './distribution.ts';
import { ensembleFor, lastSegment, type LedgerMeta } from './metadata.ts';
import { type LacReply, QuorumLacOp, type ReadReply, RecoveryReadOp } from './quorum-ops.ts';

/** Known protocol defects, re-introduced on purpose by tests. Never set in production. */
export interface ProtocolDefects {
  /** Recovery reads without the fence flag (BK ≤ 4.11). */
  readonly recoveryReadsDoNotFence?: boolean;
  /** Start recovery at the fenced LAC only, ignoring the last fragment's first entry (BK ≤ 4.11). */
  readonly recoveryIgnoresLastFragment?: boolean;
  /** Count UNKNOWN_LEDGER_STATE as "no such entry". */
  readonly unknownCountsAsAbsent?: boolean;
}

export interface RecoveryOptions {
  readonly meta: LedgerMeta;
  readonly readWindow: number;
  readonly readAttemptsMax: number;
  readonly defects?: ProtocolDefects;
}

export type RecoveryEffect =
  | { readonly kind: 'fence'; readonly bookieId: string }
  /** Fencing done: the driver creates the write-back sequencer with this LAC. */
  | { readonly kind: 'start-write-back'; readonly lastAddConfirmed: number }
  | { readonly kind: 'read'; readonly entryId: number; readonly bookieId: string; readonly fence: boolean }
  | { readonly kind: 'retry-read-later'; readonly entryId: number }
  | { readonly kind: 'write-back'; readonly entryId: number; readonly body: Uint8Array }
  /** Nothing past the start point: the driver reads entry `entryId` normally for its length. */
  | { readonly kind: 'read-length'; readonly entryId: number }
  | { readonly kind: 'close'; readonly lastEntryId: number; readonly length: number }
  | { readonly kind: 'failed'; readonly failure: LedgerFailure };

type Phase = 'fencing' | 'reading' | 'closing' | 'done' | 'failed';

export class LedgerRecovery {
  readonly #opts: RecoveryOptions;
  readonly #meta: LedgerMeta;
  readonly #fence: QuorumLacOp;
  #phase: Phase = 'fencing';
  #start = -1;
  #nextToIssue = 0;
  #nextToWriteBack = 0;
  #lastWrittenBack = -1;
  #lastWrittenBackLength = 0;
  #firstAbsent = Number.POSITIVE_INFINITY;
  readonly #reads = new Map<number, RecoveryReadOp>();
  readonly #attempts = new Map<number, number>();
  readonly #found = new Map<number, Uint8Array>();

  constructor(opts: RecoveryOptions) {
    assert(opts.meta.state === 'in-recovery', 'recovery needs an IN_RECOVERY ledger', {
      state: opts.meta.state,
    });
    assert(opts.readWindow >= 1 && opts.readAttemptsMax >= 1, 'bad recovery bounds', { ...opts });
    this.#opts = opts;
    this.#meta = opts.meta;
    this.#fence = new QuorumLacOp(lastSegment(opts.meta).bookieIds, opts.meta);
  }

  get phase(): Phase {
    return this.#phase;
  }
  /** The start point (valid once fencing is done). */
  get startPoint(): number {
    return this.#start;
  }

  /**
   * True once the end is known and every entry before it was handed to write-back. Only then may
   * the write-back change the ensemble: a new fragment claims every entry from its first one on,
   * so the replacement must first hold every recovered entry of its positions, and recovery
   * knows them all only now. (Switching earlier lets a racing recoverer that reads the new
   * fragment see NO_ENTRY from the replacement for an entry the writer confirmed: data loss
   * this project's simulation found, seed 2711.)
   */
  get readingDone(): boolean {
    return (
      (this.#phase === 'reading' || this.#phase === 'closing') &&
      Number.isFinite(this.#firstAbsent) &&
      this.#nextToWriteBack === this.#firstAbsent
    );
  }

  start(): RecoveryEffect[] {
    return this.#fence.bookies.map((bookieId) => ({ kind: 'fence', bookieId }));
  }

  onFenceReply(bookieId: string, reply: LacReply): RecoveryEffect[] {
    if (this.#phase !== 'fencing') return [];
    const r = this.#fence.onReply(bookieId, reply);
    if (r.kind === 'pending') return [];
    if (r.kind === 'failed') {
      return this.#fail(`fencing reached ${r.answered} bookies, not enough to cover every write set`);
    }
    const fragmentStart = lastSegment(this.#meta).firstEntryId - 1;
    this.#start = this.#opts.defects?.recoveryIgnoresLastFragment
      ? r.maxLac
      : Math.max(r.maxLac, fragmentStart);
    this.#phase = 'reading';
    this.#nextToIssue = this.#start + 1;
    this.#nextToWriteBack = this.#start + 1;
    this.#lastWrittenBack = this.#start;
    return [{ kind: 'start-write-back', lastAddConfirmed: this.#start }, ...this.#issueReads()];
  }

  #issueReads(): RecoveryEffect[] {
    const effects: RecoveryEffect[] = [];
    while (
      this.#nextToIssue < this.#firstAbsent &&
      this.#nextToIssue - this.#nextToWriteBack < this.#opts.readWindow
    ) {
      effects.push(...this.#read(this.#nextToIssue++));
    }
    return effects;
  }

  #read(entryId: number): RecoveryEffect[] {
    const ws = writeSet(entryId, ensembleFor(this.#meta, entryId), this.#meta);
    const op = new RecoveryReadOp(
      entryId,
      ws,
      this.#meta,
      this.#opts.defects?.unknownCountsAsAbsent ?? false,
    );
    this.#reads.set(entryId, op);
    const fence = !this.#opts.defects?.recoveryReadsDoNotFence;
    return ws.map((bookieId) => ({ kind: 'read', entryId, bookieId, fence }));
  }

  onReadReply(entryId: number, bookieId: string, reply: ReadReply): RecoveryEffect[] {
    const op = this.#reads.get(entryId);
    if (this.#phase !== 'reading' || op === undefined) return [];
    const r = op.onReply(bookieId, reply);
    switch (r.kind) {
      case 'pending':
        return [];
      case 'found': {
        this.#reads.delete(entryId);
        this.#found.set(entryId, r.body);
        return [...this.#pushWriteBacks(), ...this.#issueReads(), ...this.#maybeClose()];
      }
      case 'absent':
        this.#reads.delete(entryId);
        this.#firstAbsent = Math.min(this.#firstAbsent, entryId);
        for (const id of [...this.#reads.keys()]) if (id >= this.#firstAbsent) this.#reads.delete(id);
        for (const id of [...this.#found.keys()]) if (id >= this.#firstAbsent) this.#found.delete(id);
        return this.#maybeClose();
      case 'undecided': {
        this.#reads.delete(entryId);
        const attempts = (this.#attempts.get(entryId) ?? 0) + 1;
        this.#attempts.set(entryId, attempts);
        if (attempts >= this.#opts.readAttemptsMax) {
          return this.#fail(`entry ${entryId} neither found nor absent after ${attempts} reads`);
        }
        return [{ kind: 'retry-read-later', entryId }];
      }
    }
  }

  /** The retry delay for an undecided entry passed. */
  retryRead(entryId: number): RecoveryEffect[] {
    if (this.#phase !== 'reading' || entryId >= this.#firstAbsent || this.#found.has(entryId)) return [];
    if (entryId < this.#nextToWriteBack || this.#reads.has(entryId)) return [];
    return this.#read(entryId);
  }

  #pushWriteBacks(): RecoveryEffect[] {
    const effects: RecoveryEffect[] = [];
    while (this.#nextToWriteBack < this.#firstAbsent && this.#found.has(this.#nextToWriteBack)) {
      const entryId = this.#nextToWriteBack++;
      const body = this.#found.get(entryId)!;
      this.#found.delete(entryId);
      effects.push({ kind: 'write-back', entryId, body });
    }
    return effects;
  }

  onWriteBackConfirmed(entryId: number, body: Uint8Array): RecoveryEffect[] {
    if (this.#phase !== 'reading') return [];
    assert(entryId === this.#lastWrittenBack + 1, 'write-backs must be confirmed in order', {
      entryId,
      last: this.#lastWrittenBack,
    });
    this.#lastWrittenBack = entryId;
    this.#lastWrittenBackLength = readEnvelopeHeader(body)!.length;
    return this.#maybeClose();
  }

  onWriteBackFailed(failure: LedgerFailure): RecoveryEffect[] {
    if (this.#phase === 'done' || this.#phase === 'failed') return [];
    this.#phase = 'failed';
    return [{ kind: 'failed', failure }];
  }

  #maybeClose(): RecoveryEffect[] {
    const end = this.#firstAbsent;
    if (!Number.isFinite(end) || this.#nextToWriteBack !== end || this.#lastWrittenBack !== end - 1)
      return [];
    this.#phase = 'closing';
    const lastEntryId = end - 1;
    if (lastEntryId > this.#start)
      return [{ kind: 'close', lastEntryId, length: this.#lastWrittenBackLength }];
    if (this.#start < 0) return [{ kind: 'close', lastEntryId: -1, length: 0 }];
    return [{ kind: 'read-length', entryId: this.#start }];
  }

  /** The length of the start entry, when nothing past it was found. */
  onLength(length: number): RecoveryEffect[] {
    assert(this.#phase === 'closing', 'length arrived outside the closing phase', { phase: this.#phase });
    return [{ kind: 'close', lastEntryId: this.#start, length }];
  }

  /** The close CAS succeeded (or another recoverer's close was adopted). */
  onClosed(): void {
    this.#phase = 'done';
  }

  #fail(reason: string): RecoveryEffect[] {
    this.#phase = 'failed';
    return [
      {
        kind: 'failed',
        failure: { code: 'RECOVERY_FAILED', details: { ledgerId: this.#meta.ledgerId, reason } },
      },
    ];
  }
}
