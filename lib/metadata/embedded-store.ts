/**
 * The embedded, file-backed MetadataStore for standalone mode: same contract as the etcd store,
 * for ONE process (a LOCK file refuses a second one).
 *
 * Write path (group commit): requests queue up; a flush plans each against the in-memory state
 * (embedded-state.ts) in arrival order, applies it, appends all records to the log with one
 * write + fdatasync, and only then acknowledges the requests and delivers their watch events.
 * While a flush is in flight memory is ahead of the disk, so reads wait for it to finish: nothing
 * is ever observed that a crash could take back. An fsync failure stops the store (STORE_FAILED).
 *
 * Sessions: the process is the client, so a session lives until it is closed or revoked, or the
 * process ends; on the next open every session of the previous incarnation is ended and its keys
 * are deleted before the store is handed out.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMagnetarError } from '../errors/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import {
  acquireLock,
  decodeFrames,
  encodeFrame,
  fsyncDir,
  listGenerations,
  readSnapshotFile,
  removeIfExists,
  snapshotName,
  WalWriter,
  walName,
  writeFileDurably,
} from './embedded-files.ts';
import { EmbeddedSession } from './embedded-session.ts';
import { EmbeddedState, type LogRecord, type Snapshot } from './embedded-state.ts';
import { EmbeddedWatches } from './embedded-watches.ts';
import { MetadataErrors } from './errors.ts';
import { type MetadataLimits, resolveLimits } from './limits.ts';
import type {
  DeleteOptions,
  Entry,
  ListOptions,
  ListPage,
  MetadataStore,
  PutOptions,
  Session,
  TxnOp,
  Version,
  Watch,
  WatchEvent,
  WatchHandlers,
  WatchOptions,
} from './store.ts';
import * as check from './validate.ts';

export interface EmbeddedStoreOptions {
  /** Absolute directory; created if missing. */
  readonly dir: string;
  readonly limits?: Partial<MetadataLimits>;
  readonly logger?: Logger;
}

interface Job {
  readonly plan: () => LogRecord | undefined;
  readonly resolve: (record: LogRecord | undefined) => void;
  readonly reject: (err: Error) => void;
}

export async function openEmbeddedStore(opts: EmbeddedStoreOptions): Promise<EmbeddedMetadataStore> {
  const limits = resolveLimits(opts.limits);
  const logger = opts.logger ?? createLogger({ service: 'metadata', node: `embedded-${process.pid}` });
  if (!opts.dir.startsWith('/')) {
    throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'embedded store dir', why: 'must be absolute' });
  }
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const release = await acquireLock(opts.dir);
  try {
    const { state, gen, validBytes } = await recover(opts.dir, logger);
    const writer = await WalWriter.open(join(opts.dir, walName(gen)), validBytes);
    await fsyncDir(opts.dir);
    const store = new EmbeddedMetadataStore(opts.dir, limits, logger, state, gen, writer, release);
    await store.endPreviousIncarnation();
    return store;
  } catch (err) {
    await release();
    throw err;
  }
}

/** Newest snapshot + its log; older generations (left by a crash mid-compaction) are removed. */
async function recover(
  dir: string,
  logger: Logger,
): Promise<{ state: EmbeddedState; gen: number; validBytes: number }> {
  const { snapshots, wals } = await listGenerations(dir);
  const gen = snapshots.at(-1) ?? 0;
  if (wals.some((w) => w > gen)) {
    throw MetadataErrors.make('STORE_CORRUPT', {
      file: dir,
      offset: 0,
      why: `a log newer than snapshot ${gen}`,
    });
  }
  const state = snapshots.length
    ? EmbeddedState.fromSnapshot((await readSnapshotFile(join(dir, snapshotName(gen)))) as Snapshot)
    : new EmbeddedState();
  let validBytes = 0;
  if (wals.includes(gen)) {
    const file = join(dir, walName(gen));
    const buf = await readFile(file);
    const decoded = decodeFrames(buf, file);
    for (const record of decoded.payloads) state.apply(record as LogRecord);
    validBytes = decoded.validBytes;
    if (validBytes < buf.length) {
      logger.warn(
        { file, droppedBytes: buf.length - validBytes },
        'embedded metadata log: torn tail cut off',
      );
    }
  }
  for (const s of snapshots) if (s < gen) await removeIfExists(join(dir, snapshotName(s)));
  for (const w of wals) if (w < gen) await removeIfExists(join(dir, walName(w)));
  return { state, gen, validBytes };
}

export class EmbeddedMetadataStore implements MetadataStore {
  readonly dir: string;
  readonly limits: MetadataLimits;
  readonly #logger: Logger;
  readonly #state: EmbeddedState;
  #gen: number;
  #writer: WalWriter;
  readonly #releaseLock: () => Promise<void>;
  readonly #queue: Job[] = [];
  #flushing: Promise<void> | undefined;
  #dirty = false;
  #clean: { promise: Promise<void>; resolve: () => void } | undefined;
  #failed: Error | undefined;
  #closed = false;
  readonly #sessions = new Map<string, EmbeddedSession>();
  readonly #watches: EmbeddedWatches;

  constructor(
    dir: string,
    limits: MetadataLimits,
    logger: Logger,
    state: EmbeddedState,
    gen: number,
    writer: WalWriter,
    releaseLock: () => Promise<void>,
  ) {
    this.dir = dir;
    this.limits = limits;
    this.#logger = logger;
    this.#state = state;
    this.#gen = gen;
    this.#writer = writer;
    this.#releaseLock = releaseLock;
    this.#watches = new EmbeddedWatches(limits, logger, state.revision);
  }

  /** Sessions in the recovered state belong to a process that is gone: end them. */
  async endPreviousIncarnation(): Promise<void> {
    const ids = this.#state.sessionIds();
    await Promise.all(ids.map((id) => this.#write(() => this.#state.planSessionEnd(id))));
    if (ids.length) this.#logger.info({ sessions: ids.length }, 'ended sessions of the previous incarnation');
  }

  async get(key: string): Promise<Entry | undefined> {
    check.checkKey(key, this.limits);
    await this.#readable();
    return this.#state.get(key);
  }

  async put(key: string, value: Uint8Array, opts: PutOptions = {}): Promise<Version> {
    const [version] = await this.txn([{ op: 'put', key, value, ...opts }]);
    return version!;
  }

  async delete(key: string, opts: DeleteOptions = {}): Promise<boolean> {
    check.checkKey(key, this.limits);
    check.checkExpectedVersion(key, opts.expectedVersion, false);
    if (opts.expectedVersion !== undefined) {
      await this.txn([{ op: 'delete', key, expectedVersion: opts.expectedVersion }]);
      return true;
    }
    return (await this.#write(() => this.#state.planDelete(key))) !== undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    check.checkPrefix(prefix, this.limits);
    if (opts.startAfter !== undefined) check.checkKey(opts.startAfter, this.limits);
    const limit = check.pageSize(opts.limit, this.limits);
    await this.#readable();
    const { entries, more } = this.#state.range(prefix, opts.startAfter, limit);
    return {
      entries: opts.keysOnly ? entries.map((e) => ({ ...e, value: new Uint8Array(0) })) : entries,
      more,
      revision: this.#state.revision,
    };
  }

  async listAll(prefix: string, opts: { keysOnly?: boolean } = {}): Promise<Entry[]> {
    check.checkPrefix(prefix, this.limits);
    await this.#readable();
    const { entries } = this.#state.range(prefix, undefined, this.limits.maxListAllEntries + 1);
    if (entries.length > this.limits.maxListAllEntries) {
      throw MetadataErrors.make('TOO_MANY_KEYS', { max: this.limits.maxListAllEntries, prefix });
    }
    return opts.keysOnly ? entries.map((e) => ({ ...e, value: new Uint8Array(0) })) : entries;
  }

  async deletePrefix(prefix: string): Promise<number> {
    check.checkPrefix(prefix, this.limits);
    const record = await this.#write(() => this.#state.planDeletePrefix(prefix));
    return record?.t === 'commit' ? record.m.length : 0;
  }

  async txn(ops: readonly TxnOp[]): Promise<(Version | undefined)[]> {
    check.checkTxn(ops, this.limits);
    for (const op of ops) if (op.op === 'put' && op.session) this.#checkSession(op.session);
    const record = await this.#write(() => this.#state.planTxn(ops));
    const version = record?.t === 'commit' ? record.rev : undefined;
    return ops.map((op) => (op.op === 'put' ? version : undefined));
  }

  async watch(prefix: string, handlers: WatchHandlers, opts: WatchOptions = {}): Promise<Watch> {
    check.checkPrefix(prefix, this.limits);
    if (typeof handlers?.onEvent !== 'function') {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'watch handlers', why: 'onEvent is required' });
    }
    if (
      opts.afterVersion !== undefined &&
      (!Number.isSafeInteger(opts.afterVersion) || opts.afterVersion < 0)
    ) {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'afterVersion', why: String(opts.afterVersion) });
    }
    await this.#readable();
    // No await between here and registration: no change can slip in between.
    return this.#watches.add(prefix, handlers, opts.afterVersion ?? this.#state.revision);
  }

  async createSession(ttlMs: number): Promise<Session> {
    check.checkTtl(ttlMs, this.limits);
    if (this.#sessions.size >= this.limits.maxSessions) {
      throw MetadataErrors.make('INVALID_ARGUMENT', {
        what: 'session',
        why: `maxSessions ${this.limits.maxSessions} live`,
      });
    }
    const record = await this.#write(() => this.#state.planSessionStart(ttlMs));
    if (record?.t !== 'session') throw MetadataErrors.make('STORE_FAILED', { cause: 'session not recorded' });
    const session = new EmbeddedSession(record.id, ttlMs, {
      end: async (id) => {
        await this.#write(() => this.#state.planSessionEnd(id));
      },
      onEnded: (id) => this.#sessions.delete(id),
      logger: this.#logger,
    });
    this.#sessions.set(session.id, session);
    return session;
  }

  async revokeSession(sessionId: string): Promise<boolean> {
    if (typeof sessionId !== 'string' || !/^\d{1,20}$/.test(sessionId)) {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'session id', why: JSON.stringify(sessionId) });
    }
    const record = await this.#write(() => this.#state.planSessionEnd(sessionId));
    if (!record) return false;
    this.#sessions.get(sessionId)?.markLost('revoked by revokeSession');
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (!this.#failed) {
      await Promise.allSettled([...this.#sessions.values()].map((s) => s.close()));
    }
    this.#closed = true;
    while (this.#flushing) await this.#flushing;
    this.#watches.closeAll();
    await this.#writer.close().catch(() => undefined);
    await this.#releaseLock();
  }

  // ---- the write pipeline ------------------------------------------------------------------

  #write(plan: () => LogRecord | undefined): Promise<LogRecord | undefined> {
    if (this.#failed)
      return Promise.reject(MetadataErrors.make('STORE_FAILED', { cause: this.#failed.message }));
    if (this.#closed) return Promise.reject(MetadataErrors.make('STORE_CLOSED'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ plan, resolve, reject });
      if (!this.#flushing) this.#flushing = this.#flushSoon();
    });
  }

  async #flushSoon(): Promise<void> {
    // Let concurrent callers join this batch (group commit).
    await new Promise((r) => setImmediate(r));
    try {
      while (this.#queue.length && !this.#failed) await this.#flushBatch(this.#queue.splice(0));
    } finally {
      this.#flushing = undefined;
    }
  }

  async #flushBatch(jobs: Job[]): Promise<void> {
    const frames: Buffer[] = [];
    const events: { version: number; events: WatchEvent[] }[] = [];
    const outcomes: ({ record: LogRecord | undefined } | { error: Error })[] = [];
    this.#setDirty(true);
    try {
      for (const job of jobs) {
        let record: LogRecord | undefined;
        try {
          record = job.plan();
        } catch (err) {
          if (!isMagnetarError(err)) throw err;
          outcomes.push({ error: err });
          continue;
        }
        if (record) {
          const applied = this.#state.apply(record);
          if (record.t !== 'session') events.push({ version: record.rev, events: applied });
          frames.push(encodeFrame(record));
        }
        outcomes.push({ record });
      }
      if (frames.length) await this.#writer.append(frames);
    } catch (err) {
      this.#fail(err as Error, jobs);
      return;
    }
    this.#setDirty(false);
    for (const e of events) this.#watches.publish(e.version, e.events);
    jobs.forEach((job, i) => {
      const o = outcomes[i];
      if ('error' in o) job.reject(o.error);
      else job.resolve(o.record);
    });
    if (this.#writer.sizeBytes > this.limits.walCompactBytes) await this.#compact();
  }

  /** Snapshot the state, start a new log generation, drop the old one. Writes are paused. */
  async #compact(): Promise<void> {
    const next = this.#gen + 1;
    try {
      await writeFileDurably(this.dir, snapshotName(next), encodeFrame(this.#state.snapshot()));
      const writer = await WalWriter.open(join(this.dir, walName(next)), 0);
      await fsyncDir(this.dir);
      const old = this.#writer;
      this.#writer = writer;
      this.#gen = next;
      await old.close();
      await removeIfExists(join(this.dir, walName(next - 1)));
      await removeIfExists(join(this.dir, snapshotName(next - 1)));
      this.#logger.info({ gen: next, revision: this.#state.revision }, 'embedded metadata log compacted');
    } catch (err) {
      this.#fail(err as Error, []);
    }
  }

  #fail(err: Error, jobs: Job[]): void {
    this.#failed = err;
    this.#logger.error({ err }, 'embedded metadata store failed; it accepts no more requests');
    const failure = () => MetadataErrors.make('STORE_FAILED', { cause: err.message }, err);
    for (const job of [...jobs, ...this.#queue.splice(0)]) job.reject(failure());
    for (const s of this.#sessions.values()) s.markLost(`store failed: ${err.message}`);
    this.#watches.failAll(failure());
    this.#setDirty(false);
  }

  #setDirty(dirty: boolean): void {
    this.#dirty = dirty;
    if (dirty && !this.#clean) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#clean = { promise, resolve };
    } else if (!dirty && this.#clean) {
      this.#clean.resolve();
      this.#clean = undefined;
    }
  }

  /** Wait until memory holds only durable state. */
  async #readable(): Promise<void> {
    for (;;) {
      if (this.#failed) throw MetadataErrors.make('STORE_FAILED', { cause: this.#failed.message });
      if (this.#closed) throw MetadataErrors.make('STORE_CLOSED');
      if (!this.#dirty) return;
      await this.#clean?.promise;
    }
  }

  #checkSession(session: Session): void {
    if (
      !(session instanceof EmbeddedSession) ||
      (this.#sessions.get(session.id) !== session && session.alive)
    ) {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'session', why: 'not a session of this store' });
    }
    const dead = session.deadError;
    if (dead) throw dead;
  }
}
