/**
 * Drives an AddSequencer: sends its adds through the transport, feeds the answers back, ticks its
 * timeouts, and runs the ensemble-change CAS loop it asks for. Shared by the writer (normal adds)
 * and by recovery (write-back with recovery adds).
 */
import { Status } from '../../gen/magnetar/bookie/v1/bookie_pb.ts';
import type { MagnetarError } from '../../errors/index.ts';
import { errorCode, ledgerError } from '../errors.ts';
import {
  type AddOutcome,
  AddSequencer,
  type LedgerFailure,
  type SequencerEffect,
} from '../protocol/add-sequencer.ts';
import { type EnsembleChangeMode, planEnsembleChange } from '../protocol/ensemble-change.ts';
import { writeSet } from '../protocol/distribution.ts';
import { ensembleFor, type LedgerMeta, sameSegments, type VersionedMeta } from '../protocol/metadata.ts';
import { type DriverContext, sleep } from './context.ts';
import type { TimerHandle } from './env.ts';
import { type ReplyStatus, statusName } from './transport.ts';

export interface WriteEngineHooks {
  onConfirmed(entryId: number): void;
  onFailed(entryIds: readonly number[], error: MagnetarError): void;
  onMetadata?(vm: VersionedMeta): void;
}

export interface WriteEngineOptions {
  readonly vm: VersionedMeta;
  readonly password: Uint8Array;
  readonly lastAddConfirmed: number;
  readonly confirmedLength: number;
  readonly mode: EnsembleChangeMode;
  readonly hooks: WriteEngineHooks;
}

export function failureError(f: LedgerFailure): MagnetarError {
  return ledgerError(f.code, { ...f.details });
}

export function addOutcome(status: ReplyStatus): AddOutcome {
  switch (status) {
    case Status.OK:
      return { kind: 'ok' };
    case Status.FENCED:
      return { kind: 'fenced' };
    case Status.UNAUTHORIZED:
    case Status.BAD_REQUEST:
    case Status.TOO_LARGE:
    case Status.DIGEST_MISMATCH:
      return { kind: 'rejected', status: statusName(status) };
    default:
      // Unreachable, read-only, overloaded, I/O error, timeout...: another bookie can take it.
      return { kind: 'bookie-failed', reason: statusName(status) };
  }
}

export class WriteEngine {
  readonly #ctx: DriverContext;
  readonly #opts: WriteEngineOptions;
  readonly #seq: AddSequencer;
  #vm: VersionedMeta;
  #tickTimer: TimerHandle | undefined;
  #changing = false;
  /** Recovery: ensemble changes wait until reading is done (LedgerRecovery.readingDone). */
  #changesAllowed: boolean;
  #changes = 0;
  #stopped = false;
  /** Bookies that failed for this handle: never picked again as replacements. */
  readonly #excluded = new Set<string>();

  constructor(ctx: DriverContext, opts: WriteEngineOptions) {
    this.#ctx = ctx;
    this.#opts = opts;
    this.#vm = opts.vm;
    this.#changesAllowed = opts.mode === 'writer';
    this.#seq = new AddSequencer({
      meta: opts.vm.meta,
      lastAddConfirmed: opts.lastAddConfirmed,
      confirmedLength: opts.confirmedLength,
      recovery: opts.mode === 'recovery',
      addTimeoutMs: ctx.limits.addTimeoutMs,
      bookieAddTimeoutMs: ctx.limits.bookieAddTimeoutMs,
    });
  }

  get sequencer(): AddSequencer {
    return this.#seq;
  }
  get versioned(): VersionedMeta {
    return this.#vm;
  }
  get ensembleChanges(): number {
    return this.#changes;
  }

  append(payload: Uint8Array): number {
    const { entryId, effects } = this.#seq.submit(payload, this.#ctx.env.nowMs());
    this.#exec(effects);
    return entryId;
  }

  writeBack(entryId: number, body: Uint8Array): void {
    this.#exec(this.#seq.submitRecovered(entryId, body, this.#ctx.env.nowMs()));
  }

  /** Recovery: reading is done, a failed bookie may now be replaced (after a copy, see #precopy). */
  allowEnsembleChanges(): void {
    if (this.#changesAllowed) return;
    this.#changesAllowed = true;
    if (this.#seq.failedBookies.size > 0) void this.#changeEnsemble();
  }

  /** Fail whatever is pending (client shutdown) and stop the timers. */
  abort(failure: LedgerFailure): void {
    this.#exec(this.#seq.failAll(failure));
    this.stop();
  }

  stop(): void {
    this.#stopped = true;
    this.#tickTimer?.cancel();
    this.#tickTimer = undefined;
  }

  #exec(effects: readonly SequencerEffect[]): void {
    for (const e of effects) {
      switch (e.kind) {
        case 'send':
          this.#send(e.bookieId, e.entryId, e.body, e.recovery);
          break;
        case 'confirmed':
          this.#opts.hooks.onConfirmed(e.entryId);
          break;
        case 'failed':
          this.#ctx.trace?.('add.failed', {
            ledgerId: this.#vm.meta.ledgerId,
            code: e.failure.code,
            n: e.entryIds.length,
          });
          this.#opts.hooks.onFailed(e.entryIds, failureError(e.failure));
          break;
        case 'ensemble-change-needed':
          void this.#changeEnsemble();
          break;
      }
    }
    this.#armTick();
  }

  #send(bookieId: string, entryId: number, body: Uint8Array, recovery: boolean): void {
    const req = { ledgerId: this.#vm.meta.ledgerId, entryId, masterKey: this.#opts.password, body, recovery };
    this.#ctx.transport.add(bookieId, req, (status) => {
      if (this.#stopped) return;
      this.#exec(this.#seq.onAddResult(entryId, bookieId, addOutcome(status)));
    });
  }

  #armTick(): void {
    if (this.#tickTimer || this.#stopped || this.#seq.pendingCount === 0 || this.#seq.broken) return;
    const { addTimeoutMs, bookieAddTimeoutMs } = this.#ctx.limits;
    const periodMs = Math.max(1, Math.min(1000, Math.floor(Math.min(addTimeoutMs, bookieAddTimeoutMs) / 4)));
    this.#tickTimer = this.#ctx.env.setTimer(periodMs, () => {
      this.#tickTimer = undefined;
      if (this.#stopped) return;
      this.#exec(this.#seq.tick(this.#ctx.env.nowMs()));
    });
  }

  /** Replace failed bookies until none is left in the last ensemble, or fail the pending adds. */
  async #changeEnsemble(): Promise<void> {
    if (this.#changing || !this.#changesAllowed) return;
    this.#changing = true;
    try {
      while (!this.#stopped && !this.#seq.broken && this.#seq.failedBookies.size > 0) {
        if (this.#changes >= this.#ctx.limits.ensembleChangesMax) {
          const details = { ledgerId: this.#vm.meta.ledgerId, max: this.#ctx.limits.ensembleChangesMax };
          this.#exec(this.#seq.failAll({ code: 'TOO_MANY_ENSEMBLE_CHANGES', details }));
          return;
        }
        this.#seq.beginEnsembleChange();
        const result = await this.#casLoop();
        if (this.#stopped) return;
        if (result.kind === 'fail') {
          this.#seq.abortEnsembleChange();
          this.#exec(this.#seq.failAll(result.failure));
          return;
        }
        if (result.changed) this.#changes++;
        this.#ctx.trace?.('ensemble.changed', {
          ledgerId: this.#vm.meta.ledgerId,
          segments: this.#vm.meta.segments.map((s) => `${s.firstEntryId}:${s.bookieIds.join(',')}`).join(' '),
        });
        this.#exec(this.#seq.applyEnsembleChange(this.#vm.meta, this.#ctx.env.nowMs()));
      }
    } finally {
      this.#changing = false;
    }
  }

  async #casLoop(): Promise<{ kind: 'ok'; changed: boolean } | { kind: 'fail'; failure: LedgerFailure }> {
    const ledgerId = this.#vm.meta.ledgerId;
    const { metadataCasAttemptsMax, metadataRetryDelayMs } = this.#ctx.limits;
    const known = this.#vm.meta.segments;
    for (let attempt = 0; attempt < metadataCasAttemptsMax && !this.#stopped; attempt++) {
      const failed = [...this.#seq.failedBookies.keys()];
      for (const id of failed) this.#excluded.add(id);
      const plan = planEnsembleChange({
        meta: this.#vm.meta,
        lastAddConfirmed: this.#seq.lastAddConfirmed,
        failed,
        candidates: this.#ctx.registry.writable(),
        exclude: this.#excluded,
        placement: this.#ctx.placement,
        random: this.#ctx.env.random,
        mode: this.#opts.mode,
      });
      if (plan.kind === 'unchanged') return { kind: 'ok', changed: false };
      if (plan.kind === 'fail') return plan;
      if (this.#opts.mode === 'recovery' && !(await this.#precopy(plan.meta, plan.replaced))) {
        for (const id of plan.replaced.values()) this.#excluded.add(id);
        continue;
      }
      try {
        const version = await this.#ctx.store.write(plan.meta, this.#vm.version);
        this.#setMeta({ meta: plan.meta, version });
        return { kind: 'ok', changed: true };
      } catch (e) {
        const code = errorCode(e);
        if (code === 'METADATA_UNAVAILABLE') await sleep(this.#ctx, metadataRetryDelayMs);
        else if (code !== 'BAD_VERSION') {
          return {
            kind: 'fail',
            failure: { code: 'METADATA_UNAVAILABLE', details: { ledgerId, cause: String(e) } },
          };
        }
        let fresh: VersionedMeta | undefined;
        try {
          fresh = await this.#reread();
        } catch (re) {
          return {
            kind: 'fail',
            failure: { code: 'METADATA_UNAVAILABLE', details: { ledgerId, cause: String(re) } },
          };
        }
        if (fresh === undefined)
          return { kind: 'fail', failure: { code: 'NO_SUCH_LEDGER', details: { ledgerId } } };
        if (sameSegments(fresh.meta.segments, plan.meta.segments) && fresh.meta.state === plan.meta.state) {
          // The store timed out but our write went through.
          this.#setMeta(fresh);
          return { kind: 'ok', changed: true };
        }
        if (
          this.#opts.mode === 'recovery' &&
          fresh.meta.state !== 'closed' &&
          !sameSegments(fresh.meta.segments, known)
        ) {
          // A racing recoverer changed the ensemble: our write-backs may sit on bookies the new
          // metadata does not name. The pass starts again from the new metadata.
          const reason = 'another recoverer changed the ensemble';
          return { kind: 'fail', failure: { code: 'RECOVERY_FAILED', details: { ledgerId, reason } } };
        }
        this.#setMeta(fresh);
      }
    }
    return { kind: 'fail', failure: { code: 'BAD_VERSION', details: { ledgerId } } };
  }

  /**
   * Recovery only: before the metadata names the replacements, give them every pending entry of
   * their positions and wait for their acknowledgements. All pending entries are recovered
   * entries the old fragment may hold on Qa bookies; once the new fragment is visible, the
   * absence rule must still find them.
   */
  #precopy(meta: LedgerMeta, replaced: ReadonlyMap<string, string>): Promise<boolean> {
    const targets = new Set(replaced.values());
    const sends: { bookieId: string; entryId: number; body: Uint8Array }[] = [];
    for (const { entryId, body } of this.#seq.pendingEntries()) {
      for (const bookieId of writeSet(entryId, ensembleFor(meta, entryId), meta)) {
        if (targets.has(bookieId)) sends.push({ bookieId, entryId, body });
      }
    }
    if (sends.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let left = sends.length;
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        timer.cancel();
        resolve(ok);
      };
      const timer = this.#ctx.env.setTimer(this.#ctx.limits.bookieAddTimeoutMs, () => finish(false));
      const ledgerId = meta.ledgerId;
      for (const s of sends) {
        const req = {
          ledgerId,
          entryId: s.entryId,
          masterKey: this.#opts.password,
          body: s.body,
          recovery: true,
        };
        this.#ctx.transport.add(s.bookieId, req, (status) => {
          if (status !== Status.OK) finish(false);
          else if (--left === 0) finish(true);
        });
      }
    });
  }

  async #reread(): Promise<VersionedMeta | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#ctx.store.read(this.#vm.meta.ledgerId);
      } catch (e) {
        if (errorCode(e) !== 'METADATA_UNAVAILABLE' || attempt >= this.#ctx.limits.metadataCasAttemptsMax)
          throw e;
        await sleep(this.#ctx, this.#ctx.limits.metadataRetryDelayMs);
      }
    }
  }

  /** Metadata this handle wrote itself (close). */
  adopt(vm: VersionedMeta): void {
    this.#setMeta(vm);
  }

  #setMeta(vm: VersionedMeta): void {
    this.#vm = vm;
    this.#opts.hooks.onMetadata?.(vm);
  }

  /** Re-read the metadata after a BAD_VERSION elsewhere (close). */
  async refresh(): Promise<VersionedMeta | undefined> {
    const fresh = await this.#reread();
    if (fresh) this.#setMeta(fresh);
    return fresh;
  }
}
