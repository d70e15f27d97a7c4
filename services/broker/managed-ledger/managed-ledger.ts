/**
 * The managed ledger driver: owns the state (Open → Terminated / Fenced / Closed / Deleted), the
 * serialized ledger-list updates (a lost CAS fences it), the append pipeline (ml-appender.ts),
 * the cursors, the read path, trimming, terminate, close and delete. Decisions come from the
 * pure modules (ledger-list, cursor-state, entry-cache); this file sequences the I/O.
 */
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
import { type LedgerList, toLedgerInfo } from './ledger-list.ts';
import { type ManagedLedgerSettings, resolveTopicConfig } from './limits.ts';
import { Appender } from './ml-appender.ts';
import { CursorRegistry } from './ml-cursors.ts';
import { deleteLedgers, type MlContext, type OpenedLedgerList } from './ml-open.ts';
import { isConflict } from './ml-store.ts';
import { Trimmer } from './ml-trim.ts';

type Listener = (state: ManagedLedgerState, reason?: Error) => void;

export type ListChanges = Partial<Pick<StoredLedgerList, 'terminatedPosition' | 'properties' | 'deleting'>>;

export class ManagedLedgerImpl implements ManagedLedger {
  readonly name: string;
  private _config: ManagedLedgerConfig;
  readonly ctx: MlContext;
  readonly list: LedgerList;
  readonly reader: EntryReader;
  readonly cache: EntryCache;
  private readonly cursorRegistry: CursorRegistry;
  private readonly trimmer: Trimmer;
  private _state: ManagedLedgerState;
  private listVersion: Version;
  private stored: StoredLedgerList;
  private readonly appender: Appender;
  /** terminate() running: appends fail TERMINATED, queued ones still get written. */
  terminating = false;
  /** close()/delete() running: nothing new starts. */
  closing = false;
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
    this._config = config;
    this.list = opened.list;
    this.listVersion = opened.version;
    this.stored = opened.stored;
    this.cache = cache;
    this.onGone = onGone;
    this._state = opened.stored.terminatedPosition ? 'Terminated' : 'Open';
    this.appender = new Appender(this, opened.current);
    this.reader = new EntryReader({
      name,
      client: ctx.client,
      cache,
      list: this.list,
      settings: ctx.settings,
      password: ctx.password,
      writer: (ledgerId) => this.appender.writerFor(ledgerId),
    });
    this.cursorRegistry = new CursorRegistry(this);
    this.trimmer = new Trimmer(this);
  }

  get settings(): ManagedLedgerSettings {
    return this.ctx.settings;
  }
  get config(): ManagedLedgerConfig {
    return this._config;
  }

  /**
   * Policy change while open: validated like an open's overrides; rollover bounds and E/Qw/Qa
   * apply to the next ledger created, retention to the next trim (run now when it changed).
   */
  updateConfig(update: Partial<ManagedLedgerConfig>): void {
    const next = resolveTopicConfig(this.settings, { ...this._config, ...update });
    const retentionChanged =
      next.retentionTimeMs !== this._config.retentionTimeMs ||
      next.retentionSizeBytes !== this._config.retentionSizeBytes;
    this._config = next;
    if (retentionChanged) void this.trimConsumedLedgers().catch(() => undefined);
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
    if (!this.appender.hasRoom(data.byteLength))
      return Promise.reject(
        mlErrors.make('TOO_MANY_PENDING_APPENDS', {
          name: this.name,
          pending: this.appender.pending,
          max: s.maxPendingAppends,
        }),
      );
    return this.appender.append(data);
  }

  /** Roll when full or old (the factory's timer; appends check it themselves). */
  checkRollover(nowMs: number): void {
    this.appender.checkRollover(nowMs);
  }

  /** @internal Wake cursors waiting for entries. */
  notifyWaiters(): void {
    this.cursorRegistry.notifyWaiters();
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
    return this.appender.current?.id;
  }

  /** Fence: another owner wrote the list or recovered our ledger. Everything pending fails. */
  fence(err: unknown): void {
    if (this._state === 'Fenced' || this._state === 'Closed' || this._state === 'Deleted') return;
    this.log.warn({ err, name: this.name }, 'managed ledger fenced: another owner took over');
    this._state = 'Fenced';
    this.appender.failQueue(mlErrors.make('MANAGED_LEDGER_FENCED', { name: this.name }, err));
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
    return this.appender.pending;
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
      pendingAppends: this.appender.pending,
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
      await this.appender.waitIdle();
      if (this._state !== 'Open') throw this.stateError();
      const ledger = this.appender.current;
      if (ledger) await ledger.close().catch((err) => this.log.warn({ err, name: this.name }, 'seal failed'));
      const last = this.list.lastPosition();
      await this.updateList(
        () => ({ openLedgerId: undefined, changes: { terminatedPosition: last } }),
        () => {
          this.appender.current = undefined;
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
    await this.appender.waitSwitch();
    await this.appender.waitInflight();
    await this.metaChain;
    this.appender.failQueue(mlErrors.make('MANAGED_LEDGER_CLOSED', { name: this.name }));
    await this.cursorRegistry.closeAll(!wasFenced && this._state !== 'Fenced');
    const sealed = this._state !== 'Fenced';
    this._state = 'Closed';
    const ledger = this.appender.current;
    this.appender.current = undefined;
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
      await this.appender.waitSwitch();
      await this.appender.waitInflight();
      await this.updateList(
        () => ({ openLedgerId: this.openLedgerId, changes: { deleting: true } }),
        () => undefined,
      );
    } catch (err) {
      this.closing = false;
      throw err;
    }
    this.appender.failQueue(mlErrors.make('MANAGED_LEDGER_DELETED', { name: this.name }));
    await this.cursorRegistry.destroyAll();
    const ledger = this.appender.current;
    this.appender.current = undefined;
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

  private async release(): Promise<void> {
    this.cursorRegistry.cancelWaiters();
    await this.reader.close();
    this.cache.clear();
    this.onGone(this);
  }
}
