/**
 * The writable handle: append with backpressure, in-order confirmations, close by CAS.
 *
 * - Appends beyond `pendingAddsMax` / `pendingAddBytesMax` wait in a backlog (bounded by
 *   `waitingAppendsMax`, beyond which append rejects at once) and are submitted as room frees.
 * - Promises settle in entry order: confirmations come out of the sequencer in order, and a
 *   failure fails every pending append (then the backlog) in order.
 * - close() waits for the pending appends, then seals LAC and length in the metadata by CAS. A
 *   ledger found IN_RECOVERY, or CLOSED at another entry, means another client took it over:
 *   LEDGER_FENCED.
 */
import { assert } from '../../assert.ts';
import type { MagnetarError } from '../../errors/index.ts';
import type { EntryId, WritableLedger } from '../api.ts';
import { errorCode, ledgerError } from '../errors.ts';
import type { LedgerFailure } from '../protocol/add-sequencer.ts';
import type { VersionedMeta } from '../protocol/metadata.ts';
import { type DriverContext, sleep } from './context.ts';
import { ReadHandleBase } from './read-handle.ts';
import { WriteEngine } from './write-engine.ts';

interface Waiter {
  readonly resolve: (entryId: number) => void;
  readonly reject: (err: Error) => void;
}

interface Queued extends Waiter {
  readonly payload: Uint8Array;
}

export class LedgerWriter extends ReadHandleBase implements WritableLedger {
  readonly #engine: WriteEngine;
  readonly #waiters = new Map<number, Waiter>();
  #backlog: Queued[] = [];
  #backlogHead = 0;
  #broken: MagnetarError | undefined;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  readonly #onFinished: () => void;
  /** waitForLastAddConfirmed callers; each returns true once it resolved. */
  readonly #lacWaiters = new Set<() => boolean>();

  constructor(ctx: DriverContext, vm: VersionedMeta, password: Uint8Array, onFinished: () => void) {
    super(ctx, password);
    this.#onFinished = onFinished;
    this.#engine = new WriteEngine(ctx, {
      vm,
      password,
      lastAddConfirmed: -1,
      confirmedLength: 0,
      mode: 'writer',
      hooks: {
        onConfirmed: (entryId) => this.#onConfirmed(entryId),
        onFailed: (ids, err) => this.#onFailed(ids, err),
      },
    });
  }

  protected get vm(): VersionedMeta {
    return this.#engine.versioned;
  }
  get lastAddConfirmed(): EntryId {
    return this.#engine.sequencer.lastAddConfirmed;
  }
  get pendingCount(): number {
    return this.#engine.sequencer.pendingCount + (this.#backlog.length - this.#backlogHead);
  }
  get ensembleChanges(): number {
    return this.#engine.ensembleChanges;
  }

  append(payload: Uint8Array): Promise<EntryId> {
    const ledgerId = this.id;
    if (this.#closing) return Promise.reject(ledgerError('LEDGER_CLOSED', { ledgerId }));
    if (this.released) return Promise.reject(ledgerError('HANDLE_RELEASED', { ledgerId }));
    if (this.#broken) return Promise.reject(this.#brokenError());
    if (payload.byteLength > this.ctx.limits.entryBytesMax) {
      return Promise.reject(
        ledgerError('ENTRY_TOO_LARGE', {
          bytes: payload.byteLength,
          maxBytes: this.ctx.limits.entryBytesMax,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const waiting = this.#backlog.length - this.#backlogHead;
      if (waiting === 0 && this.#hasRoom()) {
        this.#submit({ payload, resolve, reject });
      } else if (waiting >= this.ctx.limits.waitingAppendsMax) {
        reject(
          ledgerError('TOO_MANY_PENDING_ADDS', {
            ledgerId,
            pending: waiting,
            max: this.ctx.limits.waitingAppendsMax,
          }),
        );
      } else {
        this.#backlog.push({ payload, resolve, reject });
      }
    });
  }

  #hasRoom(): boolean {
    const seq = this.#engine.sequencer;
    return (
      seq.pendingCount < this.ctx.limits.pendingAddsMax &&
      seq.pendingBytes < this.ctx.limits.pendingAddBytesMax
    );
  }

  #submit(q: Queued): void {
    const entryId = this.#engine.sequencer.nextEntryId;
    this.#waiters.set(entryId, { resolve: q.resolve, reject: q.reject });
    const assigned = this.#engine.append(q.payload);
    assert(assigned === entryId, 'entry id assigned out of order', { assigned, entryId });
  }

  #pump(): void {
    while (this.#backlogHead < this.#backlog.length && this.#hasRoom() && !this.#broken) {
      const q = this.#backlog[this.#backlogHead];
      this.#backlog[this.#backlogHead++] = undefined as unknown as Queued;
      this.#submit(q);
    }
    if (this.#backlogHead > 1024 && this.#backlogHead * 2 > this.#backlog.length) {
      this.#backlog = this.#backlog.slice(this.#backlogHead);
      this.#backlogHead = 0;
    }
    if (this.pendingCount === 0) this.#drained?.();
  }

  #onConfirmed(entryId: number): void {
    const w = this.#waiters.get(entryId);
    assert(w !== undefined, 'confirmation without a waiting append', { entryId });
    this.#waiters.delete(entryId);
    w.resolve(entryId);
    this.#wakeLacWaiters();
    this.#pump();
  }

  #onFailed(entryIds: readonly number[], err: MagnetarError): void {
    this.#broken ??= err;
    for (const id of entryIds) {
      const w = this.#waiters.get(id);
      this.#waiters.delete(id);
      w?.reject(err);
    }
    const backlog = this.#backlog.slice(this.#backlogHead);
    this.#backlog = [];
    this.#backlogHead = 0;
    for (const q of backlog) q.reject(this.#brokenError());
    this.#engine.stop();
    this.#wakeLacWaiters();
    this.#drained?.();
  }

  #brokenError(): MagnetarError {
    const b = this.#broken!;
    // Fencing and closing keep their code (callers act on it); anything else says the handle is done.
    if (b.code === 'LEDGER_FENCED' || b.code === 'LEDGER_CLOSED')
      return ledgerError(b.code, { ...b.details });
    return ledgerError('HANDLE_BROKEN', { ledgerId: this.id, cause: b.code }, b);
  }

  /** Fail everything now (client shutdown). */
  abort(failure: LedgerFailure): void {
    this.#engine.abort(failure);
  }

  protected async refreshMeta(): Promise<VersionedMeta> {
    return (await this.#engine.refresh()) ?? this.#engine.versioned;
  }

  async readLastAddConfirmed(): Promise<EntryId> {
    return this.lastAddConfirmed;
  }

  /** Resolves at the next confirmation past `previous`, a failure, close, or the timeout. */
  waitForLastAddConfirmed(previous: EntryId, timeoutMs: number): Promise<EntryId> {
    if (this.lastAddConfirmed > previous || this.#broken || this.#closing || timeoutMs <= 0) {
      return Promise.resolve(this.lastAddConfirmed);
    }
    return new Promise((resolve) => {
      const waiter = () => {
        if (this.lastAddConfirmed <= previous && !this.#broken && !this.#closing) return false;
        timer.cancel();
        resolve(this.lastAddConfirmed);
        return true;
      };
      const timer = this.ctx.env.setTimer(timeoutMs, () => {
        this.#lacWaiters.delete(waiter);
        resolve(this.lastAddConfirmed);
      });
      this.#lacWaiters.add(waiter);
    });
  }

  #wakeLacWaiters(): void {
    for (const w of [...this.#lacWaiters]) if (w()) this.#lacWaiters.delete(w);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    this.#wakeLacWaiters();
    return this.#closing;
  }

  async #close(): Promise<void> {
    try {
      if (this.pendingCount > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      this.#engine.stop();
      if (this.#broken?.code === 'LEDGER_FENCED') throw this.#brokenError();
      await this.#seal();
    } finally {
      this.released = true;
      this.#onFinished();
    }
  }

  /** CAS the metadata to CLOSED at the LAC. */
  async #seal(): Promise<void> {
    const ledgerId = this.id;
    const seq = this.#engine.sequencer;
    const { metadataCasAttemptsMax, metadataRetryDelayMs } = this.ctx.limits;
    let vm = this.#engine.versioned;
    for (let attempt = 0; attempt < metadataCasAttemptsMax; attempt++) {
      const m = vm.meta;
      if (m.state === 'closed' && m.lastEntryId === seq.lastAddConfirmed) return;
      if (m.state !== 'open') throw ledgerError('LEDGER_FENCED', { ledgerId });
      try {
        const closed = {
          ...m,
          state: 'closed' as const,
          lastEntryId: seq.lastAddConfirmed,
          length: seq.confirmedLength,
        };
        const version = await this.ctx.store.write(closed, vm.version);
        this.#engine.adopt({ meta: closed, version });
        return;
      } catch (e) {
        const code = errorCode(e);
        if (code === 'METADATA_UNAVAILABLE') await sleep(this.ctx, metadataRetryDelayMs);
        else if (code !== 'BAD_VERSION') throw e;
        vm = (await this.#engine.refresh()) ?? vm;
      }
    }
    throw ledgerError('BAD_VERSION', { ledgerId });
  }
}
