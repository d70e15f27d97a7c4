/**
 * The managed ledger driver: appends in order onto the current ledger, rolls it (create → CAS
 * the list → close the old one), replaces it after an add error (appends wait, in order), fences
 * itself when the list CAS is lost, and owns the cursors, the read path, trimming, terminate,
 * close and delete. Decisions come from the pure modules (ledger-list, cursor-state,
 * entry-cache); this file sequences the I/O.
 */
import { assert } from '../../../lib/assert.ts';
import type { WritableLedger } from '../../../lib/ledger/api.ts';
import type { Version } from '../../../lib/metadata/store.ts';
import type {
  LedgerInfo,
  ManagedCursor,
  ManagedEntry,
  ManagedLedger,
  ManagedLedgerConfig,
  ManagedLedgerState,
  ManagedLedgerStats,
  OpenCursorOptions,
  Position,
} from './api.ts';
import { encodeLedgerList, type StoredLedgerList } from './codec.ts';
import type { ManagedCursorImpl } from './cursor.ts';
import type { EntryCache } from './entry-cache.ts';
import { EntryReader } from './entry-reader.ts';
import { mlErrors } from './errors.ts';
import {
  type LedgerList,
  type LedgerRecord,
  rolloverDeadline,
  rolloverDecision,
  toLedgerInfo,
} from './ledger-list.ts';
import type { ManagedLedgerSettings } from './limits.ts';
import { CursorRegistry } from './ml-cursors.ts';
import { createDataLedger, deleteLedgers, type MlContext, type OpenedLedgerList } from './ml-open.ts';
import { isConflict } from './ml-store.ts';
import { Trimmer } from './ml-trim.ts';

interface PendingAdd {
  readonly data: Uint8Array;
  resolve(p: Position): void;
  reject(err: unknown): void;
  settled: boolean;
}

type Listener = (state: ManagedLedgerState, reason?: Error) => void;

export type ListChanges = Partial<Pick<StoredLedgerList, 'terminatedPosition' | 'properties' | 'deleting'>>;

const isFencedLedgerError = (err: unknown) => (err as { retry?: string })?.retry === 'fenced';

export class ManagedLedgerImpl implements ManagedLedger {
  readonly name: string;
  readonly config: ManagedLedgerConfig;
  readonly ctx: MlContext;
  readonly list: LedgerList;
  readonly reader: EntryReader;
  readonly cache: EntryCache;
  private readonly cursorRegistry: CursorRegistry;
  private readonly trimmer: Trimmer;
  private _state: ManagedLedgerState;
  private listVersion: Version;
  private stored: StoredLedgerList;
  private current: WritableLedger | undefined;
  /** Ledgers we stopped writing whose seal is in progress (still read through their writer). */
  private readonly sealing = new Map<number, { ledger: WritableLedger; done: Promise<void> }>();
  private currentCreatedMs = 0;
  private rollAtMs = 0;
  private rollNotBeforeMs = 0;
  /** Unconfirmed appends in order; the first `sentCount` were sent to the current ledger. */
  private readonly queue: PendingAdd[] = [];
  private sentCount = 0;
  /** Entries/bytes sent to the current ledger (rollover bounds hold exactly, not per confirm). */
  private sentEntries = 0;
  private sentBytes = 0;
  private pendingBytes = 0;
  private inflight = 0;
  private drained: (() => void)[] = [];
  private idle: (() => void)[] = [];
  private switching = false;
  private switchRun: Promise<void> | undefined;
  /** terminate() running: appends fail TERMINATED, queued ones still get written. */
  private terminating = false;
  /** close()/delete() running: nothing new starts. */
  private closing = false;
  private metaChain: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<Listener>();
  private readonly onGone: (ml: ManagedLedgerImpl) => void;

  constructor(
    ctx: MlContext,
    name: string,
    config: ManagedLedgerConfig,
    opened: OpenedLedgerList,
    cache: EntryCache,
    onGone: (ml: ManagedLedgerImpl) => void,
  ) {
    this.ctx = ctx;
    this.name = name;
    this.config = config;
    this.list = opened.list;
    this.listVersion = opened.version;
    this.stored = opened.stored;
    this.current = opened.current;
    this.cache = cache;
    this.onGone = onGone;
    this._state = opened.stored.terminatedPosition ? 'Terminated' : 'Open';
    if (this.current) this.startedLedger(ctx.now());
    this.reader = new EntryReader({
      name,
      client: ctx.client,
      cache,
      list: this.list,
      settings: ctx.settings,
      password: ctx.password,
      writer: (ledgerId) =>
        this.current?.id === ledgerId ? this.current : this.sealing.get(ledgerId)?.ledger,
    });
    this.cursorRegistry = new CursorRegistry(this);
    this.trimmer = new Trimmer(this);
  }

  get settings(): ManagedLedgerSettings {
    return this.ctx.settings;
  }
  get log() {
    return this.ctx.log;
  }
  get state(): ManagedLedgerState {
    return this._state;
  }
  now(): number {
    return this.ctx.now();
  }
  /** Version of the ledger-list key this instance wrote last (ownership check for cursor writes). */
  currentListVersion(): Version {
    return this.listVersion;
  }

  private startedLedger(nowMs: number): void {
    this.sentEntries = 0;
    this.sentBytes = 0;
    this.currentCreatedMs = nowMs;
    this.rollAtMs = rolloverDeadline(
      nowMs,
      this.config,
      this.settings.rolloverJitterFraction,
      this.ctx.random(),
    );
  }

  // ---- appends -------------------------------------------------------------------------------

  private stateError(): unknown {
    const code =
      this.terminating && this._state === 'Open'
        ? 'MANAGED_LEDGER_TERMINATED'
        : this._state === 'Fenced'
          ? 'MANAGED_LEDGER_FENCED'
          : this._state === 'Terminated'
            ? 'MANAGED_LEDGER_TERMINATED'
            : this._state === 'Deleted'
              ? 'MANAGED_LEDGER_DELETED'
              : 'MANAGED_LEDGER_CLOSED';
    return mlErrors.make(code, { name: this.name });
  }

  append(data: Uint8Array): Promise<Position> {
    if (this._state !== 'Open' || this.terminating || this.closing) return Promise.reject(this.stateError());
    const s = this.settings;
    if (data.byteLength > s.maxEntrySizeBytes)
      return Promise.reject(
        mlErrors.make('ENTRY_TOO_LARGE', { size: data.byteLength, max: s.maxEntrySizeBytes }),
      );
    if (
      this.queue.length >= s.maxPendingAppends ||
      this.pendingBytes + data.byteLength > s.maxPendingAppendBytes
    )
      return Promise.reject(
        mlErrors.make('TOO_MANY_PENDING_APPENDS', {
          name: this.name,
          pending: this.queue.length,
          max: s.maxPendingAppends,
        }),
      );
    return new Promise<Position>((resolve, reject) => {
      const op: PendingAdd = { data, resolve, reject, settled: false };
      this.queue.push(op);
      this.pendingBytes += data.byteLength;
      if (this.switching) return;
      if (this.current) this.pump();
      else void this.switchLedger('no-ledger');
    });
  }

  /** True when sending one more entry would pass the entry/size bound of the current ledger. */
  private currentLedgerFull(nowMs: number): boolean {
    if (nowMs - this.currentCreatedMs < this.config.minLedgerRolloverTimeMs) return false;
    return (
      this.sentEntries >= this.config.maxEntriesPerLedger ||
      this.sentBytes >= this.config.maxSizePerLedgerBytes
    );
  }

  /** Send queued appends in order; when the current ledger is full, roll first. */
  private pump(): void {
    if (!this.current || this.switching || this._state !== 'Open' || this.closing) return;
    const now = this.now();
    while (this.sentCount < this.queue.length) {
      if (this.currentLedgerFull(now)) {
        void this.switchLedger('roll');
        return;
      }
      const op = this.queue[this.sentCount++];
      this.sentEntries++;
      this.sentBytes += op.data.byteLength;
      this.send(op);
    }
  }

  private send(op: PendingAdd): void {
    const ledger = this.current as WritableLedger;
    this.inflight++;
    ledger.append(op.data).then(
      (entryId) => this.onAdded(op, ledger, entryId),
      (err) => this.onAddFailed(op, err),
    );
  }

  private onAdded(op: PendingAdd, ledger: WritableLedger, entryId: number): void {
    this.inflight--;
    if (!op.settled) {
      assert(this.queue[0] === op, 'appends confirm in order', {
        name: this.name,
        ledgerId: ledger.id,
        entryId,
      });
      this.queue.shift();
      this.sentCount--;
      op.settled = true;
      this.pendingBytes -= op.data.byteLength;
      const rec = this.list.last;
      assert(rec && rec.ledgerId === ledger.id && rec.entries === entryId, 'entry ids are dense per ledger', {
        name: this.name,
        ledgerId: ledger.id,
        entryId,
        expected: rec?.entries,
      });
      rec.entries++;
      rec.sizeBytes += op.data.byteLength;
      const position = { ledgerId: ledger.id, entryId };
      this.cache.put(position, op.data);
      op.resolve(position);
      this.cursorRegistry.notifyWaiters();
    }
    this.checkDrained();
    this.checkRollover(this.now());
  }

  private onAddFailed(op: PendingAdd, err: unknown): void {
    this.inflight--;
    if (!op.settled) {
      if (isFencedLedgerError(err)) this.fence(err);
      else if (!this.switching) {
        this.log.warn({ err, name: this.name }, 'append failed; replacing the current ledger');
        void this.switchLedger('add-error');
      }
    }
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.inflight > 0) return;
    const waiting = this.drained;
    this.drained = [];
    for (const w of waiting) w();
    if (this.queue.length > 0 || this.switching) return;
    const idle = this.idle;
    this.idle = [];
    for (const w of idle) w();
  }

  /** Resolves once no append is in flight. */
  private waitInflight(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Resolves once every queued append has settled and no switch runs. */
  private waitIdle(): Promise<void> {
    if (this.inflight === 0 && this.queue.length === 0 && !this.switching) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Roll when full or old (called after adds and by the factory's timer). */
  checkRollover(nowMs: number): void {
    if (this._state !== 'Open' || this.terminating || this.closing || this.switching || !this.current) return;
    if (nowMs < this.rollNotBeforeMs) return;
    const rec = this.list.last;
    if (!rec) return;
    const decision = rolloverDecision(
      {
        entries: rec.entries,
        sizeBytes: rec.sizeBytes,
        createdMs: this.currentCreatedMs,
        rollAtMs: this.rollAtMs,
      },
      this.config,
      nowMs,
    );
    if (decision !== 'keep') void this.switchLedger('roll');
  }

  /**
   * Replace the current ledger: wait until nothing is in flight, create the new ledger, CAS the
   * list, then close the old one. Appends queue meanwhile and are (re)sent in order afterwards.
   */
  private switchLedger(reason: 'roll' | 'add-error' | 'no-ledger'): Promise<void> {
    if (this.switching || this._state !== 'Open' || this.closing) return this.switchRun ?? Promise.resolve();
    this.switching = true;
    const run = this.doSwitch(reason)
      .catch((err) => this.log.error({ err, name: this.name, reason }, 'ledger switch failed unexpectedly'))
      .finally(() => {
        if (this.switchRun === run) this.switchRun = undefined;
      });
    this.switchRun = run;
    return run;
  }

  private async doSwitch(reason: 'roll' | 'add-error' | 'no-ledger'): Promise<void> {
    try {
      await this.waitInflight();
      if (this._state !== 'Open' || this.closing) return;
      const old = this.current;
      if (reason !== 'roll') {
        // After an add error the old ledger is sealed at its last confirmed entry right away;
        // the failed appends go to the new ledger.
        this.current = undefined;
        this.retireLedger(old);
      }
      let fresh: WritableLedger;
      try {
        fresh = await createDataLedger(this.ctx, this.name, this.config, this.list.last?.ledgerId ?? -1);
      } catch (err) {
        this.switchFailed(reason, err);
        return;
      }
      const now = this.now();
      let dropped: number | undefined;
      const freshRec = { ledgerId: fresh.id, entries: 0, sizeBytes: 0, timestampMs: now };
      try {
        await this.updateList(
          (next) => {
            const last = next.last as LedgerRecord;
            if (last.entries === 0) next.remove(new Set([last.ledgerId]));
            else last.timestampMs = now;
            next.append(freshRec);
            return { openLedgerId: fresh.id, changes: {} };
          },
          () => {
            // Nothing is in flight: the live last record is exactly the one written above.
            const last = this.list.last as LedgerRecord;
            if (last.entries === 0) {
              dropped = last.ledgerId;
              this.list.remove(new Set([last.ledgerId]));
            } else last.timestampMs = now;
            this.list.append(freshRec);
            this.current = fresh;
            this.startedLedger(now);
          },
        );
      } catch (err) {
        await this.ctx.client.deleteLedger(fresh.id).catch(() => undefined);
        if (this._state === 'Open') this.switchFailed(reason, err);
        return;
      }
      if (reason === 'roll') this.retireLedger(old);
      if (dropped !== undefined) this.deleteDroppedLedger(dropped);
      this.log.info({ name: this.name, reason, to: fresh.id, dropped }, 'ledger switched');
    } finally {
      // Nothing is in flight: whatever is still queued (new, or failed on the old ledger) is
      // sent again, in order, to the current ledger.
      this.switching = false;
      this.sentCount = 0;
      this.pump();
      this.cursorRegistry.notifyWaiters();
      this.checkDrained();
    }
  }

  private switchFailed(reason: string, err: unknown): void {
    this.log.warn({ err, name: this.name, reason }, 'could not switch to a new ledger');
    if (reason === 'roll') {
      // The current ledger still works: keep writing, retry the roll later.
      this.rollNotBeforeMs = this.now() + this.settings.retryBackoffMs * 32;
      return;
    }
    this.failQueue(mlErrors.make('APPEND_FAILED', { name: this.name, reason: (err as Error).message }, err));
  }

  /** Seal a ledger we stopped writing (best effort: its count in the list is authoritative). */
  private retireLedger(ledger: WritableLedger | undefined): void {
    if (!ledger || this.sealing.has(ledger.id)) return;
    const done = ledger
      .close()
      .catch((err) => this.log.warn({ err, name: this.name, ledgerId: ledger.id }, 'sealing a ledger failed'))
      .finally(() => this.sealing.delete(ledger.id));
    this.sealing.set(ledger.id, { ledger, done });
  }

  /** Delete an empty ledger the list no longer names (after its seal, if one is running). */
  private deleteDroppedLedger(ledgerId: number): void {
    const sealing = this.sealing.get(ledgerId)?.done ?? Promise.resolve();
    void sealing
      .then(() => this.ctx.client.deleteLedger(ledgerId))
      .catch((err) => this.log.warn({ err, name: this.name, ledgerId }, 'empty ledger not deleted (orphan)'));
  }

  private failQueue(err: unknown): void {
    const ops = this.queue.splice(0);
    this.pendingBytes = 0;
    this.sentCount = 0;
    for (const op of ops) {
      op.settled = true;
      op.reject(err);
    }
  }

  // ---- metadata ------------------------------------------------------------------------------

  /**
   * Serialized ledger-list update: `build` edits a copy of the live list at the moment the write
   * runs (so concurrent updates never overwrite each other), `commit` applies the same edit to
   * the live list once the CAS succeeded. A lost CAS fences this instance.
   */
  updateList(
    build: (next: LedgerList) => { openLedgerId: number | undefined; changes: ListChanges },
    commit: () => void,
  ): Promise<void> {
    const run = this.metaChain.then(async () => {
      if (this._state === 'Fenced') throw this.stateError();
      const next = this.list.clone();
      const { openLedgerId, changes } = build(next);
      const stored: StoredLedgerList = { ...this.stored, ...changes, ledgers: [...next.records] };
      try {
        this.listVersion = await this.ctx.meta.putLedgerList(
          this.name,
          encodeLedgerList(stored, openLedgerId),
          this.listVersion,
        );
      } catch (err) {
        if (isConflict(err)) {
          this.fence(err);
          throw mlErrors.make('MANAGED_LEDGER_FENCED', { name: this.name }, err);
        }
        throw err;
      }
      this.stored = { ...this.stored, ...changes };
      commit();
    });
    this.metaChain = run.catch(() => undefined);
    return run;
  }

  /** The ledger being written, if any (stored with 0/0 counts in the list). */
  get openLedgerId(): number | undefined {
    return this.current?.id;
  }

  /** Fence: another owner wrote the list or recovered our ledger. Everything pending fails. */
  fence(err: unknown): void {
    if (this._state === 'Fenced' || this._state === 'Closed' || this._state === 'Deleted') return;
    this.log.warn({ err, name: this.name }, 'managed ledger fenced: another owner took over');
    this._state = 'Fenced';
    this.failQueue(mlErrors.make('MANAGED_LEDGER_FENCED', { name: this.name }, err));
    this.cursorRegistry.cancelWaiters();
    this.cursorRegistry.stopPersistence();
    this.emit(err as Error);
  }

  private emit(reason?: Error): void {
    for (const l of this.listeners) {
      try {
        l(this._state, reason);
      } catch (err) {
        this.log.warn({ err, name: this.name }, 'state listener threw');
      }
    }
  }

  onStateChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get properties(): Readonly<Record<string, string>> {
    return this.stored.properties;
  }

  async setProperties(update: Readonly<Record<string, string | null>>): Promise<void> {
    if (this._state !== 'Open' && this._state !== 'Terminated') throw this.stateError();
    const props = { ...this.stored.properties };
    for (const [k, v] of Object.entries(update)) {
      if (v === null) delete props[k];
      else props[k] = v;
    }
    await this.updateList(
      () => ({ openLedgerId: this.openLedgerId, changes: { properties: props } }),
      () => undefined,
    );
  }

  // ---- reads and accounting ------------------------------------------------------------------

  readEntries(from: Position, opts: { maxEntries: number; maxBytes?: number }): Promise<ManagedEntry[]> {
    return this.reader.read(from, opts.maxEntries, opts.maxBytes ?? Number.POSITIVE_INFINITY);
  }

  get lastConfirmedPosition(): Position {
    return this.stored.terminatedPosition ?? this.list.lastPosition();
  }
  get firstPosition(): Position {
    return this.list.firstPosition();
  }
  nextPosition(p: Position): Position {
    return this.list.nextPosition(p);
  }
  countEntriesBetween(fromExclusive: Position, toInclusive: Position): number {
    return this.list.countBetween(fromExclusive, toInclusive);
  }
  get numberOfEntries(): number {
    return this.list.totalEntries;
  }
  get totalSizeBytes(): number {
    return this.list.totalSizeBytes;
  }
  get ledgers(): readonly LedgerInfo[] {
    return this.list.records.map(toLedgerInfo);
  }
  get pendingAppends(): number {
    return this.queue.length;
  }

  stats(): ManagedLedgerStats {
    return {
      name: this.name,
      state: this._state,
      numberOfEntries: this.numberOfEntries,
      totalSizeBytes: this.totalSizeBytes,
      currentLedgerId: this.list.last?.ledgerId ?? -1,
      lastConfirmedPosition: this.lastConfirmedPosition,
      ledgers: this.ledgers,
      pendingAppends: this.queue.length,
      cursors: this.cursorRegistry.all().map((c) => c.stats()),
    };
  }

  // ---- cursors -------------------------------------------------------------------------------

  openCursor(name: string, opts?: OpenCursorOptions): Promise<ManagedCursor> {
    if (this._state === 'Fenced' || this._state === 'Closed' || this._state === 'Deleted')
      return Promise.reject(this.stateError());
    return this.cursorRegistry.open(name, opts ?? {});
  }
  deleteCursor(name: string): Promise<void> {
    return this.cursorRegistry.delete(name);
  }
  getCursor(name: string): ManagedCursor | undefined {
    return this.cursorRegistry.get(name);
  }
  cursors(): readonly ManagedCursor[] {
    return this.cursorRegistry.all();
  }
  /** @internal Load the persisted cursors (after the list CAS of the open). */
  recoverCursors(): Promise<void> {
    return this.cursorRegistry.recoverAll();
  }
  /** @internal */ durableCursors(): ManagedCursorImpl[] {
    return this.cursorRegistry.all().filter((c) => c.durable);
  }
  /** @internal */ cursorsInternal(): ManagedCursorImpl[] {
    return this.cursorRegistry.all();
  }
  /** @internal */ get trimmedLedgers(): number {
    return this.trimmer.trimmedLedgers;
  }

  trimConsumedLedgers(): Promise<void> {
    return this.trimmer.trim();
  }

  /** Drop cached entries every open cursor has read past (factory timer). */
  invalidateConsumedCache(): void {
    this.cursorRegistry.invalidateConsumedCache();
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  async terminate(): Promise<Position> {
    if (this._state === 'Terminated') return this.lastConfirmedPosition;
    if (this._state !== 'Open' || this.terminating || this.closing) throw this.stateError();
    this.terminating = true;
    try {
      await this.waitIdle();
      if (this._state !== 'Open') throw this.stateError();
      const ledger = this.current;
      if (ledger) await ledger.close().catch((err) => this.log.warn({ err, name: this.name }, 'seal failed'));
      const last = this.list.lastPosition();
      await this.updateList(
        () => ({ openLedgerId: undefined, changes: { terminatedPosition: last } }),
        () => {
          this.current = undefined;
          this._state = 'Terminated';
        },
      );
      this.cursorRegistry.cancelWaiters();
      this.emit();
      return last;
    } finally {
      this.terminating = false;
    }
  }

  async close(): Promise<void> {
    if (this._state === 'Closed' || this._state === 'Deleted' || this.closing) return;
    const wasFenced = this._state === 'Fenced';
    this.closing = true;
    await this.waitSwitch();
    await this.waitInflight();
    await this.metaChain;
    this.failQueue(mlErrors.make('MANAGED_LEDGER_CLOSED', { name: this.name }));
    await this.cursorRegistry.closeAll(!wasFenced && this._state !== 'Fenced');
    const sealed = this._state !== 'Fenced';
    this._state = 'Closed';
    const ledger = this.current;
    this.current = undefined;
    if (ledger && sealed)
      await ledger.close().catch((err) => this.log.warn({ err, name: this.name }, 'seal failed'));
    await this.release();
    this.emit();
  }

  async delete(): Promise<void> {
    if (this._state === 'Deleted') return;
    if ((this._state !== 'Open' && this._state !== 'Terminated') || this.closing) throw this.stateError();
    this.closing = true;
    try {
      await this.waitSwitch();
      await this.waitInflight();
      await this.updateList(
        () => ({ openLedgerId: this.openLedgerId, changes: { deleting: true } }),
        () => undefined,
      );
    } catch (err) {
      this.closing = false;
      throw err;
    }
    this.failQueue(mlErrors.make('MANAGED_LEDGER_DELETED', { name: this.name }));
    await this.cursorRegistry.destroyAll();
    const ledger = this.current;
    this.current = undefined;
    if (ledger) await ledger.close().catch(() => undefined);
    await deleteLedgers(
      this.ctx,
      this.name,
      this.list.records.map((r) => r.ledgerId),
    );
    await this.ctx.meta.deleteAllKeys(this.name, this.listVersion);
    this._state = 'Deleted';
    await this.release();
    this.emit();
  }

  private async waitSwitch(): Promise<void> {
    while (this.switchRun) await this.switchRun;
  }

  private async release(): Promise<void> {
    this.cursorRegistry.cancelWaiters();
    await this.reader.close();
    this.cache.clear();
    this.onGone(this);
  }
}
