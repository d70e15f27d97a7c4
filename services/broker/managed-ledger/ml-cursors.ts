/**
 * The cursors of one managed ledger: creating, recovering (bounded concurrency), deleting,
 * waking readers waiting for entries, and dropping cache entries every reader is past.
 */
import type { InitialPosition, OpenCursorOptions, Position } from './api.ts';
import { comparePositions } from './api.ts';
import { type CursorHost, ManagedCursorImpl } from './cursor.ts';
import { CursorCore } from './cursor-state.ts';
import { CursorStore, type CursorStoreContext } from './cursor-store.ts';
import { mlErrors } from './errors.ts';
import type { ManagedLedgerImpl } from './managed-ledger.ts';

export class CursorRegistry {
  private readonly ml: ManagedLedgerImpl;
  private readonly cursors = new Map<string, ManagedCursorImpl>();
  private readonly opening = new Map<string, Promise<ManagedCursorImpl>>();
  private readonly waiters = new Set<ManagedCursorImpl>();
  private notifyQueued = false;
  private readonly host: CursorHost;
  private readonly storeCtx: CursorStoreContext;

  constructor(ml: ManagedLedgerImpl) {
    this.ml = ml;
    const waiters = this.waiters;
    const cursors = this.cursors;
    this.host = {
      name: ml.name,
      get list() {
        return ml.list;
      },
      get reader() {
        return ml.reader;
      },
      get settings() {
        return ml.settings;
      },
      get log() {
        return ml.log;
      },
      get state() {
        return ml.state;
      },
      now: () => ml.now(),
      addWaiter: (c) => waiters.add(c),
      removeWaiter: (c) => waiters.delete(c),
      onMarkDeleteLedgerChanged: (c) => {
        if (c.durable) void ml.trimConsumedLedgers().catch(() => undefined);
      },
      onCursorClosed: (c) => {
        if (!c.durable && cursors.get(c.name) === c) cursors.delete(c.name);
      },
      fence: (err) => ml.fence(err),
    };
    this.storeCtx = {
      name: ml.name,
      meta: ml.ctx.meta,
      client: ml.ctx.client,
      settings: ml.settings,
      // A getter: cursor ledgers created after a policy change use the new E/Qw/Qa too.
      get config() {
        return ml.config;
      },
      password: ml.ctx.password,
      log: ml.log,
      listVersion: () => ml.currentListVersion(),
      now: () => ml.now(),
    };
  }

  get(name: string): ManagedCursorImpl | undefined {
    return this.cursors.get(name);
  }

  all(): ManagedCursorImpl[] {
    return [...this.cursors.values()];
  }

  async open(name: string, opts: OpenCursorOptions): Promise<ManagedCursorImpl> {
    this.ml.ctx.meta.checkNames(this.ml.name, name);
    const existing = this.cursors.get(name);
    if (existing) {
      existing.reopen();
      return existing;
    }
    const pending = this.opening.get(name);
    if (pending) return pending;
    const max = this.ml.settings.maxCursorsPerLedger;
    if (this.cursors.size + this.opening.size >= max)
      throw mlErrors.make('TOO_MANY_CURSORS', { name: this.ml.name, count: this.cursors.size, max });
    const run = this.create(name, opts).finally(() => this.opening.delete(name));
    this.opening.set(name, run);
    return run;
  }

  private initialMarkDelete(initial: InitialPosition | Position | undefined): Position {
    const list = this.ml.list;
    if (initial === undefined || initial === 'Latest') return this.ml.lastConfirmedPosition;
    if (initial === 'Earliest') return { ledgerId: list.firstPosition().ledgerId, entryId: -1 };
    const p =
      comparePositions(initial, this.ml.lastConfirmedPosition) > 0
        ? list.nextPosition(this.ml.lastConfirmedPosition)
        : list.normalize(initial);
    return { ledgerId: p.ledgerId, entryId: p.entryId - 1 };
  }

  private async create(name: string, opts: OpenCursorOptions): Promise<ManagedCursorImpl> {
    const core = new CursorCore(this.ml.list, this.initialMarkDelete(opts.initialPosition));
    const props = { ...(opts.cursorProperties ?? {}) };
    const durable = opts.durable ?? true;
    let store: CursorStore | undefined;
    if (durable) {
      const s = this.ml.settings;
      store = await CursorStore.create(
        this.storeCtx,
        name,
        core.snapshot(s.maxAckRangesInKey, s.maxBatchAcksInKey),
        props,
      );
    }
    const cursor = new ManagedCursorImpl(this.host, name, core, store, props);
    this.cursors.set(name, cursor);
    return cursor;
  }

  /** Load every persisted cursor (a bounded number at a time). */
  async recoverAll(): Promise<void> {
    const names = await this.ml.ctx.meta.listCursorNames(this.ml.name);
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const name = names[next++];
        const rec = await CursorStore.recover(this.storeCtx, name);
        if (!rec) continue;
        const core = new CursorCore(this.ml.list, rec.snapshot.markDelete);
        core.restore(rec.snapshot);
        const cursor = new ManagedCursorImpl(this.host, name, core, rec.store, rec.cursorProperties);
        this.cursors.set(name, cursor);
        this.ml.log.debug({ name: this.ml.name, cursor: name, source: rec.source }, 'cursor recovered');
      }
    };
    const n = Math.min(this.ml.settings.cursorRecoveryConcurrency, names.length);
    await Promise.all(Array.from({ length: n }, worker));
  }

  async delete(name: string): Promise<void> {
    const c = this.cursors.get(name);
    if (!c) throw mlErrors.make('CURSOR_NOT_FOUND', { cursor: name, name: this.ml.name });
    await c.destroy('cursor');
    this.cursors.delete(name);
    this.waiters.delete(c);
    void this.ml.trimConsumedLedgers().catch(() => undefined);
  }

  /** Wake waiting readers once per burst of appends. */
  notifyWaiters(): void {
    if (this.notifyQueued || this.waiters.size === 0) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const c of [...this.waiters]) c.notifyEntriesAvailable();
    });
  }

  stopPersistence(): void {
    for (const c of this.cursors.values()) c.stopPersistence();
  }

  cancelWaiters(): void {
    for (const c of [...this.waiters]) c.cancelPendingRead();
  }

  invalidateConsumedCache(): void {
    let slowest: Position | undefined;
    for (const c of this.cursors.values()) {
      if (c.state !== 'Open') continue;
      const rp = c.readPosition;
      if (!slowest || comparePositions(rp, slowest) < 0) slowest = rp;
    }
    const upTo = slowest
      ? { ledgerId: slowest.ledgerId, entryId: slowest.entryId - 1 }
      : this.ml.lastConfirmedPosition;
    this.ml.cache.invalidateAtOrBefore(upTo);
  }

  async closeAll(persist: boolean): Promise<void> {
    await Promise.all(this.all().map((c) => c.close({ persist })));
  }

  async destroyAll(): Promise<void> {
    for (const c of this.all()) await c.destroy('ledgers-only');
    this.cursors.clear();
    this.waiters.clear();
  }
}
