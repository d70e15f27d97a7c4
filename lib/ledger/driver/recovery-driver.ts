/**
 * Opening a ledger with recovery (internals.md §1.9, §5.6): CAS the metadata to IN_RECOVERY,
 * then run LedgerRecovery passes (fence, read forward, write back, close by CAS) until one closes
 * the ledger or finds it closed by a racing recoverer. Every recoverer ends with the metadata's
 * last entry, so racing recoverers agree through the CAS.
 */
import { Status } from '../../gen/magnetar/bookie/v1/bookie_pb.ts';
import type { MagnetarError } from '../../errors/index.ts';
import { errorCode, type LedgerErrorCode, ledgerError } from '../errors.ts';
import { type LedgerMeta, sameSegments, samePassword, type VersionedMeta } from '../protocol/metadata.ts';
import { LedgerRecovery, type RecoveryEffect } from '../protocol/recovery.ts';
import { type DriverContext, sleep } from './context.ts';
import { classifyRead, EntryReader } from './entry-reader.ts';
import type { TimerHandle } from './env.ts';
import { failureError, WriteEngine } from './write-engine.ts';

/** Recover and close `ledgerId`; resolves with the closed metadata. */
export async function recoverLedger(
  ctx: DriverContext,
  ledgerId: number,
  password: Uint8Array,
): Promise<VersionedMeta> {
  const { recoveryAttemptsMax, recoveryRetryDelayMs, metadataCasAttemptsMax } = ctx.limits;
  let lastError: unknown;
  let casConflicts = 0;
  for (let attempt = 0; attempt < recoveryAttemptsMax; ) {
    const vm = await readMeta(ctx, ledgerId);
    if (!samePassword(vm.meta.password, password)) throw ledgerError('UNAUTHORIZED', { ledgerId });
    if (vm.meta.state === 'closed') return vm;
    let current = vm;
    if (vm.meta.state === 'open') {
      try {
        const marked: LedgerMeta = { ...vm.meta, state: 'in-recovery' };
        current = { meta: marked, version: await ctx.store.write(marked, vm.version) };
      } catch (e) {
        if (errorCode(e) !== 'BAD_VERSION' || ++casConflicts > metadataCasAttemptsMax) throw e;
        continue; // the writer changed its ensemble, or another recoverer got there: look again
      }
    }
    attempt++;
    try {
      ctx.trace?.('recovery.pass', { ledgerId, attempt });
      return await new RecoveryPass(ctx, current, password).run();
    } catch (e) {
      const retryable = (e as MagnetarError).retry === 'retryable' || errorCode(e) === 'LEDGER_CLOSED';
      if (!retryable) throw e;
      lastError = e;
      ctx.trace?.('recovery.retry', { ledgerId, code: errorCode(e), message: (e as Error).message });
      if (errorCode(e) !== 'LEDGER_CLOSED') await sleep(ctx, recoveryRetryDelayMs);
    }
  }
  throw ledgerError(
    'RECOVERY_FAILED',
    { ledgerId, reason: `gave up after ${recoveryAttemptsMax} passes` },
    lastError,
  );
}

async function readMeta(ctx: DriverContext, ledgerId: number): Promise<VersionedMeta> {
  for (let attempt = 0; ; attempt++) {
    try {
      const vm = await ctx.store.read(ledgerId);
      if (vm === undefined) throw ledgerError('NO_SUCH_LEDGER', { ledgerId });
      return vm;
    } catch (e) {
      if (errorCode(e) !== 'METADATA_UNAVAILABLE' || attempt >= ctx.limits.metadataCasAttemptsMax) throw e;
      await sleep(ctx, ctx.limits.metadataRetryDelayMs);
    }
  }
}

/** One pass of the LedgerRecovery state machine against the bookies. */
class RecoveryPass {
  readonly #ctx: DriverContext;
  readonly #basis: VersionedMeta;
  readonly #password: Uint8Array;
  readonly #sm: LedgerRecovery;
  readonly #timers = new Set<TimerHandle>();
  readonly #writeBacks = new Map<number, Uint8Array>();
  #engine: WriteEngine | undefined;
  #finished = false;
  #resolve!: (vm: VersionedMeta) => void;
  #reject!: (err: unknown) => void;

  constructor(ctx: DriverContext, basis: VersionedMeta, password: Uint8Array) {
    this.#ctx = ctx;
    this.#basis = basis;
    this.#password = password;
    this.#sm = new LedgerRecovery({
      meta: basis.meta,
      readWindow: ctx.limits.recoveryReadWindow,
      readAttemptsMax: ctx.limits.recoveryReadAttemptsMax,
      defects: ctx.defects,
    });
  }

  run(): Promise<VersionedMeta> {
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#exec(this.#sm.start());
    });
  }

  get #ledgerId(): number {
    return this.#basis.meta.ledgerId;
  }

  #finish(result: { ok: VersionedMeta } | { err: unknown }): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const t of this.#timers) t.cancel();
    this.#engine?.stop();
    if ('ok' in result) this.#resolve(result.ok);
    else this.#reject(result.err);
  }

  #exec(effects: readonly RecoveryEffect[]): void {
    this.#execEffects(effects);
    if (this.#sm.readingDone && !this.#finished) this.#engine?.allowEnsembleChanges();
  }

  #execEffects(effects: readonly RecoveryEffect[]): void {
    for (const e of effects) {
      if (this.#finished) return;
      switch (e.kind) {
        case 'fence':
          this.#fence(e.bookieId);
          break;
        case 'start-write-back':
          this.#startWriteBack(e.lastAddConfirmed);
          break;
        case 'read':
          this.#read(e.entryId, e.bookieId, e.fence);
          break;
        case 'retry-read-later':
          this.#later(this.#ctx.limits.recoveryRetryDelayMs, () => this.#exec(this.#sm.retryRead(e.entryId)));
          break;
        case 'write-back':
          this.#writeBacks.set(e.entryId, e.body);
          this.#engine!.writeBack(e.entryId, e.body);
          break;
        case 'read-length':
          void this.#readLength(e.entryId);
          break;
        case 'close':
          this.#ctx.trace?.('recovery.close', {
            ledgerId: this.#ledgerId,
            lastEntryId: e.lastEntryId,
            start: this.#sm.startPoint,
          });
          void this.#close(e.lastEntryId, e.length).then(
            (vm) => this.#finish({ ok: vm }),
            (err) => this.#finish({ err }),
          );
          break;
        case 'failed':
          this.#finish({ err: failureError(e.failure) });
          break;
      }
    }
  }

  #later(ms: number, fn: () => void): void {
    const t = this.#ctx.env.setTimer(ms, () => {
      this.#timers.delete(t);
      if (!this.#finished) fn();
    });
    this.#timers.add(t);
  }

  #fence(bookieId: string): void {
    const req = { ledgerId: this.#ledgerId, masterKey: this.#password };
    this.#ctx.transport.fence(bookieId, req, this.#ctx.limits.bookieRequestTimeoutMs, (r) => {
      if (this.#finished) return;
      // A bookie answers Fence only after fencing durably. UNKNOWN_LEDGER_STATE (it may have lost
      // data of the ledger) still means fenced, so it counts towards coverage; its LAC may be too
      // low, which only moves the start point back (more reading, never less).
      const fenced =
        r.status === Status.OK ||
        r.status === Status.NO_LEDGER ||
        r.status === Status.NO_ENTRY ||
        r.status === Status.UNKNOWN_LEDGER_STATE;
      this.#exec(
        this.#sm.onFenceReply(bookieId, fenced ? { kind: 'answered', lac: r.lac } : { kind: 'error' }),
      );
    });
  }

  #startWriteBack(lastAddConfirmed: number): void {
    this.#engine = new WriteEngine(this.#ctx, {
      vm: this.#basis,
      password: this.#password,
      lastAddConfirmed,
      confirmedLength: 0,
      mode: 'recovery',
      hooks: {
        onConfirmed: (entryId) => {
          const body = this.#writeBacks.get(entryId)!;
          this.#writeBacks.delete(entryId);
          this.#exec(this.#sm.onWriteBackConfirmed(entryId, body));
        },
        onFailed: (_ids, err) => {
          this.#exec(this.#sm.onWriteBackFailed({ code: err.code as LedgerErrorCode, details: err.details }));
        },
      },
    });
  }

  #read(entryId: number, bookieId: string, fence: boolean): void {
    const req = { ledgerId: this.#ledgerId, entryId, fence, masterKey: this.#password };
    this.#ctx.transport.readEntry(bookieId, req, this.#ctx.limits.bookieRequestTimeoutMs, (r) => {
      if (this.#finished) return;
      this.#exec(this.#sm.onReadReply(entryId, bookieId, classifyRead(r, this.#ledgerId, entryId)));
    });
  }

  /** Nothing past the start point: the length is the start entry's (a confirmed entry). */
  async #readLength(entryId: number): Promise<void> {
    const reader = new EntryReader(this.#ctx, this.#password);
    for (let attempt = 1; ; attempt++) {
      try {
        const d = await reader.readOne(this.#basis.meta, entryId);
        if (!this.#finished) this.#exec(this.#sm.onLength(d.length));
        return;
      } catch (e) {
        if (this.#finished) return;
        if (attempt >= this.#ctx.limits.recoveryReadAttemptsMax) return this.#finish({ err: e });
        await sleep(this.#ctx, this.#ctx.limits.recoveryRetryDelayMs);
      }
    }
  }

  /** CAS to CLOSED; adopt a close by a racing recoverer; restart if another changed the ensemble. */
  async #close(lastEntryId: number, length: number): Promise<VersionedMeta> {
    const ledgerId = this.#ledgerId;
    let vm = this.#engine?.versioned ?? this.#basis;
    const ours = vm.meta.segments;
    for (let attempt = 0; attempt < this.#ctx.limits.metadataCasAttemptsMax; attempt++) {
      if (vm.meta.state === 'closed') return vm;
      if (vm.meta.state !== 'in-recovery') {
        throw ledgerError('RECOVERY_FAILED', { ledgerId, reason: `ledger became ${vm.meta.state}` });
      }
      if (!sameSegments(vm.meta.segments, ours)) {
        throw ledgerError('RECOVERY_FAILED', { ledgerId, reason: 'another recoverer changed the ensemble' });
      }
      const closed: LedgerMeta = { ...vm.meta, state: 'closed', lastEntryId, length };
      try {
        const version = await this.#ctx.store.write(closed, vm.version);
        this.#sm.onClosed();
        return { meta: closed, version };
      } catch (e) {
        const code = errorCode(e);
        if (code === 'METADATA_UNAVAILABLE') await sleep(this.#ctx, this.#ctx.limits.metadataRetryDelayMs);
        else if (code !== 'BAD_VERSION') throw e;
        vm = await readMeta(this.#ctx, ledgerId);
      }
    }
    throw ledgerError('BAD_VERSION', { ledgerId });
  }
}
