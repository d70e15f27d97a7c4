/**
 * The cursor driver: wraps the pure CursorCore with reads (through the managed ledger's
 * reader), waiting for new entries, and rate-bounded persistence through a CursorStore.
 */
import type { Logger } from 'pino';
import type {
  CursorState,
  CursorStats,
  ManagedCursor,
  ManagedEntry,
  ManagedLedgerState,
  Position,
  PositionRange,
  ReadOptions,
} from './api.ts';
import { comparePositions, formatPosition, minPosition } from './api.ts';
import { type CursorCore, PersistRateLimiter } from './cursor-state.ts';
import type { CursorStore } from './cursor-store.ts';
import type { EntryReader } from './entry-reader.ts';
import { mlErrors } from './errors.ts';
import type { LedgerList } from './ledger-list.ts';
import type { ManagedLedgerSettings } from './limits.ts';

/** What a cursor needs from its managed ledger. */
export interface CursorHost {
  readonly name: string;
  readonly list: LedgerList;
  readonly reader: EntryReader;
  readonly settings: ManagedLedgerSettings;
  readonly log: Logger;
  readonly state: ManagedLedgerState;
  now(): number;
  addWaiter(c: ManagedCursorImpl): void;
  removeWaiter(c: ManagedCursorImpl): void;
  /** The mark-delete moved to another ledger: trimming may now be possible. */
  onMarkDeleteLedgerChanged(c: ManagedCursorImpl): void;
  /** A persistence write found another owner. */
  fence(err: unknown): void;
  /** The cursor was closed (non-durable cursors leave the managed ledger). */
  onCursorClosed(c: ManagedCursorImpl): void;
}

interface Waiter {
  readonly maxEntries: number;
  readonly opts: ReadOptions | undefined;
  resolve(entries: ManagedEntry[]): void;
  reject(err: unknown): void;
}

export class ManagedCursorImpl implements ManagedCursor {
  readonly name: string;
  readonly durable: boolean;
  readonly core: CursorCore;
  private readonly host: CursorHost;
  private readonly store: CursorStore | undefined;
  private readonly limiter: PersistRateLimiter;
  private _state: CursorState = 'Open';
  private cursorProps: Record<string, string>;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readChain: Promise<unknown> = Promise.resolve();
  private waiter: Waiter | undefined;
  private lastActive: number;
  /** Set after a non-retryable write failure or when the managed ledger was fenced. */
  private persistenceStopped = false;
  /** Mark-delete position as last written to the store: trimming never goes past it. */
  private persistedMd: Position;

  constructor(
    host: CursorHost,
    name: string,
    core: CursorCore,
    store: CursorStore | undefined,
    cursorProperties: Record<string, string>,
  ) {
    this.host = host;
    this.name = name;
    this.core = core;
    this.store = store;
    this.durable = store !== undefined;
    this.cursorProps = { ...cursorProperties };
    this.limiter = new PersistRateLimiter(1000 / host.settings.markDeleteRatePerSecond);
    this.limiter.markPersisted(core.version);
    this.persistedMd = core.markDeletePosition;
    this.lastActive = host.now();
  }

  get state(): CursorState {
    return this._state;
  }
  get markDeletePosition(): Position {
    return this.core.markDeletePosition;
  }
  get readPosition(): Position {
    return this.core.readPosition;
  }
  /** The mark-delete position the store holds (what a new owner would restore). */
  get persistedMarkDeletePosition(): Position {
    return this.durable ? this.persistedMd : this.core.markDeletePosition;
  }
  get properties(): Readonly<Record<string, bigint>> {
    return this.core.properties;
  }
  get cursorProperties(): Readonly<Record<string, string>> {
    return this.cursorProps;
  }

  private checkOpen(): void {
    if (this._state !== 'Open')
      throw mlErrors.make('CURSOR_CLOSED', { cursor: this.name, name: this.host.name, state: this._state });
  }

  /** Reopen a durable cursor closed earlier (its state stayed in memory and in the store). */
  reopen(): void {
    if (this._state === 'Closed') this._state = 'Open';
  }

  // ---- reading -------------------------------------------------------------------------------

  readEntries(maxEntries: number, opts?: ReadOptions): Promise<ManagedEntry[]> {
    const run = this.readChain.then(() => this.doRead(maxEntries, opts));
    this.readChain = run.catch(() => undefined);
    return run;
  }

  private async doRead(maxEntries: number, opts: ReadOptions | undefined): Promise<ManagedEntry[]> {
    this.checkOpen();
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw mlErrors.make('INVALID_POSITION', {
        position: String(maxEntries),
        reason: 'maxEntries must be >= 1',
      });
    this.lastActive = this.host.now();
    const out: ManagedEntry[] = [];
    const s = this.host.settings;
    maxEntries = Math.min(maxEntries, s.maxEntriesPerRead);
    let bytesLeft = Math.min(opts?.maxBytes ?? s.maxBytesPerRead, s.maxBytesPerRead);
    while (out.length < maxEntries && bytesLeft > 0 && this.core.hasMoreEntries()) {
      const p = this.core.readPosition;
      const hole = this.core.acked.ceilingRange(p);
      let before = hole ? { ledgerId: hole.ledgerId, entryId: hole.first } : undefined;
      if (opts?.maxPosition) before = before ? minPosition(before, opts.maxPosition) : opts.maxPosition;
      if (before && comparePositions(p, before) >= 0) break;
      const batch = await this.host.reader.read(p, maxEntries - out.length, bytesLeft, before);
      // A seek/reset while the read was in flight wins: drop what was read for the old position.
      if (batch.length === 0 || comparePositions(this.core.readPosition, p) !== 0 || this._state !== 'Open')
        break;
      out.push(...batch);
      for (const e of batch) bytesLeft -= e.data.byteLength;
      this.core.advanceReadPosition(batch[batch.length - 1].position);
    }
    return out;
  }

  readEntriesOrWait(maxEntries: number, opts?: ReadOptions): Promise<ManagedEntry[]> {
    this.checkOpen();
    if (this.core.hasMoreEntries() || this.host.state !== 'Open') return this.readEntries(maxEntries, opts);
    if (this.waiter)
      return Promise.reject(mlErrors.make('CONCURRENT_WAIT', { cursor: this.name, name: this.host.name }));
    return new Promise((resolve, reject) => {
      this.waiter = { maxEntries, opts, resolve, reject };
      this.host.addWaiter(this);
    });
  }

  /** Called by the managed ledger when entries were added (or it stopped accepting them). */
  notifyEntriesAvailable(): void {
    const w = this.waiter;
    if (!w) return;
    if (this._state !== 'Open' || this.host.state !== 'Open') {
      this.cancelPendingRead();
      return;
    }
    if (!this.core.hasMoreEntries()) return;
    this.waiter = undefined;
    this.host.removeWaiter(this);
    this.readEntries(w.maxEntries, w.opts).then(w.resolve, w.reject);
  }

  cancelPendingRead(): boolean {
    const w = this.waiter;
    if (!w) return false;
    this.waiter = undefined;
    this.host.removeWaiter(this);
    w.resolve([]);
    return true;
  }

  hasMoreEntries(): boolean {
    return this.core.hasMoreEntries();
  }

  async replayEntries(positions: readonly Position[]): Promise<ManagedEntry[]> {
    this.checkOpen();
    const wanted = positions.filter((p) => !this.core.isAcknowledged(p));
    return this.host.reader.readPositions(wanted);
  }

  // ---- acknowledging -------------------------------------------------------------------------

  private validatePosition(p: Position): void {
    const last = this.host.list.lastPosition();
    const ok = Number.isSafeInteger(p.ledgerId) && Number.isSafeInteger(p.entryId) && p.entryId >= -1;
    if (!ok || comparePositions(p, last) > 0)
      throw mlErrors.make('INVALID_POSITION', {
        position: formatPosition(p),
        reason: `beyond the last confirmed entry ${formatPosition(last)}`,
      });
  }

  /** Bookkeeping after any ack-state change (trimming follows once the new state is persisted). */
  private changed(): void {
    this.lastActive = this.host.now();
    this.scheduleFlush();
  }

  async markDelete(position: Position, properties?: Readonly<Record<string, bigint>>): Promise<void> {
    this.checkOpen();
    this.validatePosition(position);
    if (this.core.markDelete(position, properties)) this.changed();
  }

  async delete(positions: readonly Position[]): Promise<void> {
    this.checkOpen();
    if (this.core.delete(positions) > 0) this.changed();
  }

  async deleteBatchIndexes(position: Position, batchSize: number, indexes: readonly number[]): Promise<void> {
    this.checkOpen();
    if (this.core.deleteBatchIndexes(position, batchSize, indexes)) this.changed();
  }

  ackedBatchIndexes(position: Position): readonly number[] | undefined {
    return this.core.batchAcks.ackedIndexes(position);
  }

  isAcknowledged(position: Position): boolean {
    return this.core.isAcknowledged(position);
  }

  individuallyDeletedRanges(): readonly PositionRange[] {
    return this.core.individuallyDeletedRanges();
  }

  async skipEntries(count: number): Promise<void> {
    this.checkOpen();
    if (this.core.skip(Math.max(0, Math.floor(count))) > 0) this.changed();
  }

  async clearBacklog(): Promise<void> {
    this.checkOpen();
    if (this.core.clearBacklog()) this.changed();
  }

  seek(position: Position): void {
    this.checkOpen();
    this.core.seek(position);
    this.notifyEntriesAvailable();
  }

  rewind(): void {
    this.checkOpen();
    this.core.rewind();
    this.notifyEntriesAvailable();
  }

  async resetCursor(position: Position): Promise<void> {
    this.checkOpen();
    this.core.reset(position);
    await this.persistNow('key');
    this.notifyEntriesAvailable();
  }

  async findNewestMatching(predicate: (entry: ManagedEntry) => boolean): Promise<Position | undefined> {
    this.checkOpen();
    const list = this.host.list;
    const start = list.nextPosition(this.core.markDeletePosition);
    const count = list.countBetween(this.core.markDeletePosition, list.lastPosition());
    const probe = async (k: number) => {
      const p = list.positionAtOffset(start, k);
      if (!p) return false;
      const [e] = await this.host.reader.readPositions([p]);
      return e !== undefined && predicate(e);
    };
    if (count === 0 || !(await probe(0))) return undefined;
    let lo = 0; // predicate holds at lo
    let hi = count - 1;
    while (lo < hi) {
      const mid = lo + Math.ceil((hi - lo) / 2);
      if (await probe(mid)) lo = mid;
      else hi = mid - 1;
    }
    return list.positionAtOffset(start, lo);
  }

  async setCursorProperties(props: Readonly<Record<string, string>>): Promise<void> {
    this.checkOpen();
    this.cursorProps = { ...props };
    this.core.version++;
    await this.persistNow('key');
  }

  // ---- accounting ----------------------------------------------------------------------------

  getNumberOfEntriesInBacklog(): number {
    return this.core.backlogEntries();
  }
  getNumberOfEntriesToRead(): number {
    return this.core.entriesToRead();
  }
  getEstimatedBacklogSizeBytes(): number {
    return this.core.backlogBytes();
  }

  stats(): CursorStats {
    return {
      name: this.name,
      durable: this.durable,
      state: this._state,
      markDeletePosition: this.core.markDeletePosition,
      readPosition: this.core.readPosition,
      backlogEntries: this.core.backlogEntries(),
      backlogSizeBytes: this.core.backlogBytes(),
      individuallyDeletedRanges: this.core.acked.rangeCount,
      batchAckedEntries: this.core.batchAcks.size,
      metadataWrites: this.store?.metadataWrites ?? 0,
      ledgerWrites: this.store?.ledgerWrites ?? 0,
      lastActiveMs: this.lastActive,
    };
  }

  get dirty(): boolean {
    return this.durable && this.limiter.isDirty(this.core.version);
  }

  // ---- persistence ---------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (!this.store || this.flushTimer || this._state === 'Deleted' || this.persistenceStopped) return;
    if (this.host.state === 'Fenced') return;
    const delay = this.limiter.delayUntilFlush(this.core.version, this.host.now());
    if (delay === undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.persistNow('flush').catch(() => undefined);
    }, delay);
    // Never keeps a process alive: shutdown paths flush explicitly (close()).
    this.flushTimer.unref();
  }

  async flush(): Promise<void> {
    if (!this.store) return;
    await this.persistNow('flush');
  }

  /**
   * Write the state now (one write at a time). 'flush' appends to the cursor ledger; 'key' writes
   * the key (state in the key when it fits). Failures keep the state dirty; a fenced write fences
   * the managed ledger.
   */
  private async persistNow(mode: 'flush' | 'key'): Promise<void> {
    const store = this.store;
    if (!store) return;
    while (this.flushing) await this.flushing.catch(() => undefined);
    if (mode === 'flush' && !this.limiter.isDirty(this.core.version)) return;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const version = this.core.version;
    const s = this.host.settings;
    const snapshot = this.core.snapshot(s.maxAckRangesToPersist, s.maxBatchAcksToPersist);
    this.limiter.begin(this.host.now());
    const write =
      mode === 'flush'
        ? store.flush(snapshot, this.cursorProps)
        : store.writeState(snapshot, this.cursorProps);
    this.flushing = write.then(
      () => {
        this.limiter.end(true, version);
        const before = this.persistedMd.ledgerId;
        this.persistedMd = snapshot.markDelete;
        if (snapshot.markDelete.ledgerId !== before) this.host.onMarkDeleteLedgerChanged(this);
      },
      (err) => {
        this.limiter.end(false, version);
        if (mlErrors.is(err, 'MANAGED_LEDGER_FENCED')) this.host.fence(err);
        else if ((err as { retry?: string }).retry === 'retryable')
          this.host.log.warn({ err, cursor: this.name }, 'cursor state write failed; will retry');
        else {
          this.host.log.error({ err, cursor: this.name }, 'cursor state write failed; not retrying');
          this.persistenceStopped = true;
        }
        throw err;
      },
    );
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
      if (this._state === 'Open') this.scheduleFlush();
    }
  }

  /** Close: persist the state into the key (or the cursor ledger if too large), release handles. */
  async close(opts: { persist?: boolean } = {}): Promise<void> {
    if (this._state !== 'Open') return;
    this._state = 'Closed';
    this.cancelPendingRead();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.host.onCursorClosed(this);
    if (!this.store) return;
    if (opts.persist !== false) {
      await this.flushing?.catch(() => undefined);
      if (this.limiter.isDirty(this.core.version) || this.store.cursorLedgerId >= 0)
        await this.persistNow('key').catch(() => undefined);
    }
    await this.store.close();
  }

  /** No more background writes (the managed ledger was fenced: they could only fail). */
  stopPersistence(): void {
    this.persistenceStopped = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** Stop everything without writing (the cursor or its managed ledger is being deleted). */
  async stop(): Promise<void> {
    this._state = 'Deleted';
    this.cancelPendingRead();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flushing?.catch(() => undefined);
  }

  /** Delete the persisted cursor (key and ledgers). */
  async destroy(mode: 'cursor' | 'ledgers-only'): Promise<void> {
    await this.stop();
    if (!this.store) return;
    if (mode === 'cursor') await this.store.delete();
    else await this.store.deleteLedgers();
  }
}
