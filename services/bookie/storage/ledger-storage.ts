/**
 * The bookie's storage engine: journal + write cache + entry logs + index + read cache.
 *
 * Add path: `admitAdd` checks the ledger's state (master key, fence) and journals the master key
 * the first time; `appendEntry` copies the envelope into the journal; once the journal group is
 * fsynced the caller runs `applyAdd`, which puts the entry into the write cache and advances the
 * ledger's LAC. Fences and deletes are journalled and answered only once durable.
 * Maintenance (checkpoint, index snapshot, GC) runs one task at a time; an I/O failure there is
 * fatal (the process restarts and replays the journal from the last good checkpoint).
 */
import { mkdir } from 'node:fs/promises';
import { ENVELOPE_OVERHEAD_BYTES } from '../../../lib/ledger/envelope.ts';
import type { Logger } from '../../../lib/log/index.ts';
import { BookieErrors } from '../errors.ts';
import { listRecycledFiles } from '../journal/files.ts';
import { readSafeInt64BE } from '../journal/frame.ts';
import { type JournalRecord, ledgerPayload, RecordType } from '../journal/records.ts';
import { replayJournal } from '../journal/replay.ts';
import { type JournalMark, JournalWriter } from '../journal/writer.ts';
import { runCheckpoint } from './checkpoint.ts';
import { readCheckpoint } from './checkpoint-file.ts';
import { EntryLogs } from './entry-log.ts';
import { type GcKind, runGc } from './gc.ts';
import type { CheckpointState } from './index-records.ts';
import { IndexStore } from './index-store.ts';
import { LedgerRecord } from './ledger-record.ts';
import { type LimboMarker, limboCovers, readLimbo, writeLimbo } from './limbo.ts';
import { LimboAdmission } from './limbo-admission.ts';
import { ReadCache } from './read-cache.ts';
import { CacheRoom } from './room.ts';
import type { StorageConfig, StorageHooks, StorageOptions } from './types.ts';
import { type SlabMemory, WriteCache } from './write-cache.ts';

export type { StorageConfig, StorageHooks, StorageOptions } from './types.ts';

const JOURNAL_FRAME_SLACK = 64;
const INITIAL_CHECKPOINT: CheckpointState = {
  version: 1,
  journalFileId: 0,
  journalOffset: 0,
  indexGen: 0,
  hasSnapshot: false,
  indexLogBytes: 0,
};

export class LedgerStorage {
  readonly journalDir: string;
  readonly ledgerDir: string;
  readonly cfg: StorageConfig;
  readonly log: Logger;
  readonly hooks: StorageHooks;
  readonly #ledgerIdWatermark: (() => Promise<number | undefined>) | undefined;
  readonly #admission: LimboAdmission;
  /** Some ledger was put in limbo by itself (corrupt or missing entry) since the start. */
  #limboSeen = false;
  readonly ledgers: Map<number, LedgerRecord>;
  readonly logLive: Map<number, number>;
  readonly index: IndexStore;
  readonly logs: EntryLogs;
  readonly readCache: ReadCache;
  readonly recycled: string[] = [];
  journal!: JournalWriter;
  /** Entry memory of the write caches: the journal's slabs (none yet while the journal replays). */
  readonly slabMemory: SlabMemory = {
    slabIdOf: (body) => this.journal?.slabs.slabIdOf(body) ?? -1,
    slabBuffer: (id) => this.journal.slabs.slabBuffer(id),
    releaseSlab: (id) => this.journal.slabs.releaseSlab(id),
  };
  active = new WriteCache(this.slabMemory);
  flushing: WriteCache | undefined;
  pendingDeletes: number[] = [];
  lastCheckpoint: CheckpointState = INITIAL_CHECKPOINT;
  limboMarker: LimboMarker | undefined;
  /** Bytes admitted to the journal and not yet in the write cache. */
  pendingAddBytes = 0;
  #maint: Promise<void> = Promise.resolve();
  #checkpointQueued = false;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly room: CacheRoom;
  #closed = false;
  #lastGc: Record<'minor' | 'major', number> = { minor: 0, major: 0 };

  private constructor(
    o: StorageOptions,
    loaded: Awaited<ReturnType<typeof IndexStore.load>>,
    logs: EntryLogs,
  ) {
    this.journalDir = o.journalDir;
    this.ledgerDir = o.ledgerDir;
    this.cfg = o.cfg;
    this.log = o.log;
    this.hooks = o.hooks;
    this.#ledgerIdWatermark = o.ledgerIdWatermark;
    this.#admission = new LimboAdmission(o.ledgerOpenInMetadata, o.log);
    this.ledgers = loaded.ledgers;
    this.logLive = loaded.logLive;
    this.index = loaded.store;
    this.logs = logs;
    this.readCache = new ReadCache(o.cfg.readCacheMaxBytes);
    this.room = new CacheRoom(o.cfg.writeCacheMaxBytes, () => this.cachedBytes);
  }

  get maxFrameBytes(): number {
    return this.cfg.maxEntryBytes + ENVELOPE_OVERHEAD_BYTES + JOURNAL_FRAME_SLACK;
  }

  /** Load the index, replay the journal after the last checkpoint, and start writing. */
  static async open(o: StorageOptions): Promise<LedgerStorage> {
    await mkdir(o.journalDir, { recursive: true });
    await mkdir(o.ledgerDir, { recursive: true });
    const cp = await readCheckpoint(o.ledgerDir);
    const loaded = await IndexStore.load(o.ledgerDir, cp);
    const s = new LedgerStorage(
      o,
      loaded,
      await EntryLogs.open(o.ledgerDir, o.cfg.entryLogMaxBytes, {
        dropPageCache: o.cfg.entryLogDropPageCache,
        syncEveryBytes: o.cfg.entryLogSyncBytes,
      }),
    );
    if (cp) s.lastCheckpoint = cp;
    s.limboMarker = await readLimbo(o.ledgerDir);
    for (const rec of s.ledgers.values()) if (rec.limbo) s.#limboSeen = true;
    if (s.limboMarker) {
      for (const rec of s.ledgers.values()) {
        if (rec.limbo || !limboCovers(s.limboMarker, rec.ledgerId)) continue;
        rec.dirty = true;
        rec.limbo = true;
      }
    }
    s.recycled.push(...(await listRecycledFiles(o.journalDir)));
    const mark = { fileId: s.lastCheckpoint.journalFileId, offset: s.lastCheckpoint.journalOffset };
    const t0 = performance.now();
    const out = await replayJournal(o.journalDir, mark, s.maxFrameBytes, s.recycled, (rec, after) =>
      s.#replay(rec, after),
    );
    const summary = { records: out.records, ms: Math.round(performance.now() - t0), from: mark };
    if (out.plan.seal?.torn) {
      o.log.warn(
        { ...summary, seal: out.plan.seal, truncatedBytes: out.truncatedBytes },
        'journal tail truncated',
      );
    } else o.log.info(summary, 'journal replayed');
    if (out.plan.corruption) {
      o.log.error({ corruption: out.plan.corruption }, 'journal lost records in the middle: entering limbo');
      await s.enterLimbo(
        `journal corruption in file ${out.plan.corruption.fileId}: ${out.plan.corruption.why}`,
      );
    }
    s.journal = await JournalWriter.open({
      dir: o.journalDir,
      fileBytes: o.cfg.journalFileBytes,
      firstFileId: out.nextFileId,
      recycled: s.recycled,
      maxBytes: o.cfg.journalGroupMaxBytes,
      maxWaitMs: o.cfg.journalGroupWaitMs,
      flushWhenIdle: o.cfg.journalFlushWhenIdle,
      maxSyncsInFlight: o.cfg.journalMaxSyncsInFlight,
      blockingWrites: o.cfg.journalBlockingWrites,
      pooledSlabBytes: o.cfg.writeCacheMaxBytes + 2 * o.cfg.journalGroupMaxBytes,
      onGroup: o.hooks.onJournalGroup,
      onFatal: (err) => o.hooks.onFatal(err),
    });
    await s.#serial(() => s.#checkpoint());
    s.#startTimers();
    return s;
  }

  /**
   * Mark every ledger that existed before now (and every such ledger learnt from now on) as
   * possibly missing data. Ledgers allocated later (id at or above the watermark) are not covered.
   */
  async enterLimbo(reason: string): Promise<void> {
    const prev = this.limboMarker;
    let watermark = prev && prev.ledgerIdWatermark === undefined ? undefined : await this.#watermark();
    if (watermark !== undefined && prev?.ledgerIdWatermark !== undefined)
      watermark = Math.max(watermark, prev.ledgerIdWatermark);
    this.limboMarker = await writeLimbo(this.ledgerDir, reason, watermark);
    for (const rec of this.ledgers.values()) this.markLimbo(rec, reason);
  }

  async #watermark(): Promise<number | undefined> {
    try {
      return await this.#ledgerIdWatermark?.();
    } catch (err) {
      this.log.warn({ err }, 'ledger id watermark unavailable: the limbo covers every ledger');
      return undefined;
    }
  }

  markLimbo(rec: LedgerRecord, why: string): void {
    this.#limboSeen = true;
    if (rec.limbo) return;
    rec.limbo = true;
    rec.dirty = true;
    this.log.warn({ ledgerId: rec.ledgerId, why }, 'ledger in limbo: it may have lost entries');
  }

  #create(ledgerId: number): LedgerRecord {
    const rec = new LedgerRecord(ledgerId);
    if (limboCovers(this.limboMarker, ledgerId)) rec.limbo = true;
    this.ledgers.set(ledgerId, rec);
    return rec;
  }

  /**
   * Check a (non-read-only) add against the ledger's state; journals the master key on first use.
   * A ledger in limbo refuses normal adds like a fenced one (BookKeeper fences the ledgers it puts
   * in limbo): this bookie may have forgotten a fence it had taken, and a recoverer may already
   * have closed the ledger. It answers UNKNOWN_LEDGER_STATE, which the client never counts as an
   * acknowledgement (it replaces the bookie; the ensemble-change CAS fails on a recovered ledger).
   */
  admitAdd(ledgerId: number, masterKey: Uint8Array, recovery: boolean): LedgerRecord {
    if (this.#closed) throw BookieErrors.make('BOOKIE_SHUTTING_DOWN');
    const rec = this.#withKey(ledgerId, masterKey);
    if (recovery) return rec;
    if (rec.fenced) throw BookieErrors.make('BOOKIE_LEDGER_FENCED', { ledgerId });
    if (rec.limbo && !this.#admission.seenOpen(ledgerId))
      throw BookieErrors.make('BOOKIE_UNKNOWN_LEDGER_STATE', {
        ledgerId,
        why: 'ledger in limbo: a fence taken before the data loss may be forgotten, normal adds are refused',
      });
    return rec;
  }

  #withKey(ledgerId: number, masterKey: Uint8Array): LedgerRecord {
    const rec = this.ledgers.get(ledgerId) ?? this.#create(ledgerId);
    if (rec.masterKey === undefined) {
      rec.masterKey = Buffer.from(masterKey);
      rec.dirty = true;
      this.journal.appendControl(RecordType.MASTER_KEY, ledgerPayload(ledgerId, masterKey));
    } else if (!rec.masterKey.equals(masterKey)) {
      throw BookieErrors.make('BOOKIE_MASTER_KEY_MISMATCH', { ledgerId });
    }
    return rec;
  }

  /** Before normal adds to ledgers in limbo are admitted: see LimboAdmission.check. */
  limboCheck(entries: readonly { ledgerId: number; recovery: boolean }[]): Promise<void> | undefined {
    if (!(this.limboMarker || this.#limboSeen)) return undefined;
    return this.#admission.check(entries, (id) => {
      const rec = this.ledgers.get(id);
      return rec ? rec.limbo && !rec.fenced : limboCovers(this.limboMarker, id);
    });
  }

  /** Copy an admitted entry into the journal; pass the returned copy to `applyAdd` (or `abandonAdd`). */
  appendEntry(body: Uint8Array): Buffer {
    const copy = this.journal.appendEntry(body);
    this.pendingAddBytes += copy.length;
    return copy;
  }

  /** The entry is durable: make it readable. */
  applyAdd(ledgerId: number, entryId: number, body: Buffer): void {
    this.pendingAddBytes -= body.length;
    this.#put(ledgerId, entryId, body);
    if (this.active.bytes >= this.cfg.writeCacheMaxBytes / 2) this.requestCheckpoint();
  }

  /** The entry will never be durable (journal failed). */
  abandonAdd(body: Buffer): void {
    this.pendingAddBytes -= body.length;
    this.journal.slabs.release(body);
  }

  #put(ledgerId: number, entryId: number, body: Buffer): void {
    const rec = this.ledgers.get(ledgerId) ?? this.#create(ledgerId);
    this.active.put(ledgerId, entryId, body);
    if (rec.noteEntry(entryId, readSafeInt64BE(body, 16))) this.hooks.onLacAdvanced?.(rec);
  }

  /** Fence a ledger durably (creating it if unknown, so a late add of the old writer is refused). */
  async fence(ledgerId: number, masterKey: Uint8Array): Promise<LedgerRecord> {
    if (this.#closed) throw BookieErrors.make('BOOKIE_SHUTTING_DOWN');
    const rec = this.#withKey(ledgerId, masterKey);
    if (!rec.fenced) {
      rec.fenced = true;
      rec.dirty = true;
      this.journal.appendControl(RecordType.FENCE, ledgerPayload(ledgerId));
    }
    await this.#commit();
    return rec;
  }

  /** Delete a ledger durably; its space is reclaimed by GC. Returns whether it existed. */
  deleteLedger(ledgerId: number): Promise<boolean> {
    if (this.#closed) throw BookieErrors.make('BOOKIE_SHUTTING_DOWN');
    this.journal.appendControl(RecordType.DELETE, ledgerPayload(ledgerId));
    // Applied in the commit callback itself: a checkpoint whose journal mark lies past the DELETE
    // record must never see the ledger still present (it would persist it and skip the replay).
    return new Promise((resolve, reject) =>
      this.journal.commit((err) => (err ? reject(err) : resolve(this.#applyDelete(ledgerId)))),
    );
  }

  #applyDelete(ledgerId: number): boolean {
    this.active.deleteLedger(ledgerId);
    this.flushing?.deleteLedger(ledgerId);
    this.readCache.deleteLedger(ledgerId);
    this.pendingDeletes.push(ledgerId);
    const rec = this.ledgers.get(ledgerId);
    if (!rec) return false;
    for (const [logId, bytes] of rec.bytesPerLog)
      this.logLive.set(logId, (this.logLive.get(logId) ?? 0) - bytes);
    this.ledgers.delete(ledgerId);
    this.hooks.onLedgerDeleted?.(ledgerId);
    this.notifyRoom();
    return true;
  }

  #commit(): Promise<void> {
    return new Promise((resolve, reject) => this.journal.commit((err) => (err ? reject(err) : resolve())));
  }

  #replay(rec: JournalRecord, after: JournalMark): void | Promise<void> {
    switch (rec.type) {
      case 'entry':
        this.#put(rec.ledgerId, rec.entryId, rec.body);
        break;
      case 'master-key': {
        const r = this.ledgers.get(rec.ledgerId) ?? this.#create(rec.ledgerId);
        r.masterKey ??= rec.key;
        r.dirty = true;
        break;
      }
      case 'fence': {
        const r = this.ledgers.get(rec.ledgerId) ?? this.#create(rec.ledgerId);
        r.fenced = true;
        r.dirty = true;
        break;
      }
      case 'delete':
        this.#applyDelete(rec.ledgerId);
        break;
    }
    if (this.active.bytes >= this.cfg.writeCacheMaxBytes / 2)
      return this.#serial(() => this.#checkpoint(after));
  }

  /** Bytes held or about to be held by the write caches. */
  get cachedBytes(): number {
    return this.active.bytes + (this.flushing?.bytes ?? 0) + this.pendingAddBytes;
  }

  hasRoom(bytes: number): boolean {
    return this.room.fits(bytes);
  }

  /** Resolves true once `bytes` fit in the write cache (a checkpoint is requested), false after `timeoutMs`. */
  waitForRoom(bytes: number, timeoutMs: number): Promise<boolean> {
    this.requestCheckpoint();
    return this.room.wait(bytes, timeoutMs);
  }

  notifyRoom(): void {
    this.room.changed();
  }

  requestCheckpoint(): void {
    if (this.#checkpointQueued || this.#closed) return;
    this.#checkpointQueued = true;
    void this.#serial(() => this.#checkpoint());
  }

  /** Run a GC pass now (also used by tests through the bookie handle). */
  gc(kind: GcKind): Promise<void> {
    return this.#serial(async () => {
      const stats = await runGc(this, kind);
      this.hooks.onGc?.(kind, stats);
      if (stats.deletedLogs + stats.compactedLogs > 0)
        this.log.info({ kind, ...stats }, 'entry logs collected');
    });
  }

  /** Checkpoint now and wait for it. */
  checkpoint(): Promise<void> {
    return this.#serial(() => this.#checkpoint());
  }

  async #checkpoint(mark?: JournalMark): Promise<void> {
    this.#checkpointQueued = false;
    const stats = await runCheckpoint(this, mark);
    this.hooks.onCheckpoint?.(stats);
  }

  #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#maint.then(task);
    this.#maint = run.catch((err: unknown) => {
      this.log.error({ err }, 'storage maintenance failed');
      this.hooks.onFatal(err instanceof Error ? err : new Error(String(err)));
    });
    return run;
  }

  #startTimers(): void {
    this.#lastGc = { minor: Date.now(), major: Date.now() };
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(this.cfg.checkpointIntervalMs, () => this.requestCheckpoint());
    every(this.cfg.gcIntervalMs, () => {
      const now = Date.now();
      let kind: GcKind = 'dead-only';
      if (now - this.#lastGc.major >= this.cfg.gcMajorIntervalMs) kind = 'major';
      else if (now - this.#lastGc.minor >= this.cfg.gcMinorIntervalMs) kind = 'minor';
      if (kind !== 'dead-only') this.#lastGc[kind] = now;
      void this.gc(kind).catch(() => {});
    });
  }

  /** Flush what the journal holds, checkpoint, close files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.room.close();
    await this.journal.close();
    if (!this.journal.failed) await this.#serial(() => this.#checkpoint()).catch(() => {});
    await this.#maint;
    await this.index.close();
    await this.logs.close();
  }
}
