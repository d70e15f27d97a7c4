/**
 * The on-disk index: a snapshot plus a change log per generation (formats in index-records.ts).
 * Loading rebuilds every LedgerRecord (state, snapshot page offsets, delta pages) and the live
 * bytes of each entry log. Only maintenance (checkpoint, compaction; serialized by the storage)
 * appends to the log or writes a new snapshot; reads of slots may run concurrently.
 */
import type { FileHandle } from 'node:fs/promises';
import { open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FRAME_HEADER_BYTES, encodeFrame, type Frame, scanFrames } from '../journal/frame.ts';
import { fsyncDir } from '../journal/files.ts';
import { BookieErrors } from '../errors.ts';
import { RETIRED, SharedFile } from './file-ref.ts';
import {
  type CheckpointState,
  decodeLedgerId,
  decodeLedgerState,
  decodePage,
  decodeSlotRun,
  encodeLedgerState,
  encodePage,
  IndexRecordType,
  PAGE_SLOTS_OFFSET,
  type LedgerStateRecord,
} from './index-records.ts';
import {
  LedgerRecord,
  mergePage,
  PAGE_BYTES,
  PAGE_ENTRIES,
  SLOT_BYTES,
  type Slot,
  slotAt,
} from './ledger-record.ts';

const MAX_INDEX_FRAME = 64 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;
const INDEX_RE = /^index-([0-9a-f]{8})\.(snap|log)$/;

const snapName = (gen: number) => `index-${gen.toString(16).padStart(8, '0')}.snap`;
const logName = (gen: number) => `index-${gen.toString(16).padStart(8, '0')}.log`;

export interface LoadedIndex {
  readonly store: IndexStore;
  readonly ledgers: Map<number, LedgerRecord>;
  /** Live (indexed) bytes per entry log. */
  readonly logLive: Map<number, number>;
}

export class IndexStore {
  readonly dir: string;
  gen: number;
  hasSnapshot: boolean;
  logBytes: number;
  #snap: SharedFile | undefined;
  #log: FileHandle;

  private constructor(dir: string, gen: number, hasSnapshot: boolean, logBytes: number, log: FileHandle) {
    this.dir = dir;
    this.gen = gen;
    this.hasSnapshot = hasSnapshot;
    this.logBytes = logBytes;
    this.#log = log;
  }

  static async load(dir: string, cp: CheckpointState | undefined): Promise<LoadedIndex> {
    const gen = cp?.indexGen ?? 0;
    const ledgers = new Map<number, LedgerRecord>();
    const logLive = new Map<number, number>();
    const account = (rec: LedgerRecord, s: Slot, sign: 1 | -1) => {
      rec.addLogBytes(s.logId, sign * s.length);
      logLive.set(s.logId, (logLive.get(s.logId) ?? 0) + sign * s.length);
    };
    let snap: SharedFile | undefined;
    if (cp?.hasSnapshot) {
      const path = join(dir, snapName(gen));
      snap = new SharedFile(await open(path, 'r'), path);
      await loadSnapshot(snap, gen, ledgers, account);
    }
    const logPath = join(dir, logName(gen));
    const logBytes = cp?.indexLogBytes ?? 0;
    const log = await open(logPath, logBytes === 0 ? 'w+' : 'r+');
    if (logBytes === 0) await fsyncDir(dir); // the CHECKPOINT will name this file: its entry must last
    const { size } = await log.stat();
    const buf = Buffer.allocUnsafe(logBytes);
    if (size < logBytes || (await log.read(buf, 0, logBytes, 0)).bytesRead !== logBytes) {
      throw corrupt(logPath, size, 'shorter than the checkpoint says');
    }
    const res = scanFrames(buf, gen, MAX_INDEX_FRAME);
    if (res.stop !== 'end') throw corrupt(logPath, res.end, res.stop);
    for (const f of res.frames) applyLogFrame(f, ledgers, logLive, account, logPath);
    if (size > logBytes) {
      await log.truncate(logBytes);
      await log.datasync();
    }
    const store = new IndexStore(dir, gen, cp?.hasSnapshot ?? false, logBytes, log);
    store.#snap = snap;
    await store.#removeOtherGenerations();
    return { store, ledgers, logLive };
  }

  /** The slot of an entry: the delta's, else the snapshot's. */
  async readSlot(rec: LedgerRecord, entryId: number): Promise<Slot | undefined> {
    const d = rec.deltaSlot(entryId);
    if (d) return d;
    const off = rec.snapSlotOffset(entryId);
    if (off === undefined || !this.#snap) return undefined;
    const buf = await this.#readSnap(off, SLOT_BYTES);
    return buf ? slotAt(buf, 0) : undefined;
  }

  /** A whole page as bytes (snapshot merged with delta), or undefined if it has no slots. */
  async readPage(rec: LedgerRecord, pageNo: number): Promise<Buffer | undefined> {
    const delta = rec.delta.get(pageNo);
    const off = rec.snapPages.get(pageNo);
    const snap = off !== undefined ? await this.#readSnap(off, PAGE_BYTES) : undefined;
    if (!delta && !snap) return undefined;
    return mergePage(snap, delta);
  }

  /** Append frames to the change log and make them durable. */
  async appendLog(payloads: readonly { type: number; payload: Buffer }[]): Promise<void> {
    if (payloads.length === 0) return;
    const frames = payloads.map((p) => encodeFrame(this.gen, p.type, p.payload));
    await this.#log.writev(frames, this.logBytes);
    await this.#log.datasync();
    for (const f of frames) this.logBytes += f.length;
  }

  /**
   * Write the next generation's snapshot from `ledgers` (their current state and pages) and an
   * empty change log. Nothing switches until `switchTo`; returns each record's new page offsets.
   */
  async writeSnapshot(ledgers: readonly LedgerRecord[]): Promise<Map<LedgerRecord, Map<number, number>>> {
    const gen = this.gen + 1;
    const path = join(this.dir, snapName(gen));
    const fh = await open(path, 'w');
    const pages = new Map<LedgerRecord, Map<number, number>>();
    let pos = 0;
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const put = async (type: number, payload: Buffer) => {
      const f = encodeFrame(gen, type, payload);
      chunk.push(f);
      chunkBytes += f.length;
      pos += f.length;
      if (chunkBytes >= CHUNK_BYTES) {
        await fh.writev(chunk, pos - chunkBytes);
        chunk = [];
        chunkBytes = 0;
      }
    };
    try {
      for (const rec of ledgers) {
        await put(IndexRecordType.LEDGER, encodeLedgerState(stateOf(rec)));
        const offsets = new Map<number, number>();
        for (const pageNo of rec.pageNumbers()) {
          const page = await this.readPage(rec, pageNo);
          if (!page || page.every((b) => b === 0)) continue;
          offsets.set(pageNo, pos + FRAME_HEADER_BYTES + PAGE_SLOTS_OFFSET);
          await put(IndexRecordType.PAGE, encodePage(rec.ledgerId, pageNo, page));
        }
        pages.set(rec, offsets);
      }
      await put(IndexRecordType.END, Buffer.alloc(0));
      if (chunkBytes > 0) await fh.writev(chunk, pos - chunkBytes);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    const log = await open(join(this.dir, logName(gen)), 'w');
    await log.close();
    await fsyncDir(this.dir);
    return pages;
  }

  /**
   * Make generation gen+1 current (after the CHECKPOINT file names it). `repoint` runs in the
   * same synchronous step as the file switch, so no reader pairs old page offsets with the new file.
   */
  async switchToNext(repoint: () => void): Promise<void> {
    const gen = this.gen + 1;
    const path = join(this.dir, snapName(gen));
    const snap = new SharedFile(await open(path, 'r'), path);
    const log = await open(join(this.dir, logName(gen)), 'r+');
    const old = { snap: this.#snap, log: this.#log };
    this.gen = gen;
    this.#snap = snap;
    this.#log = log;
    this.hasSnapshot = true;
    this.logBytes = 0;
    repoint();
    await old.log.close();
    await old.snap?.retire();
    await this.#removeOtherGenerations();
  }

  async close(): Promise<void> {
    await this.#log.close().catch(() => {});
    await this.#snap?.retire();
  }

  async #readSnap(off: number, len: number): Promise<Buffer | undefined> {
    const res = await this.#snap?.use(async (fh) => {
      const buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await fh.read(buf, 0, len, off);
      return bytesRead === len ? buf : undefined;
    });
    return res === RETIRED ? undefined : res;
  }

  async #removeOtherGenerations(): Promise<void> {
    let removed = false;
    for (const name of await readdir(this.dir)) {
      const m = INDEX_RE.exec(name);
      if (!m || Number.parseInt(m[1], 16) === this.gen) continue;
      await unlink(join(this.dir, name)).catch(() => {});
      removed = true;
    }
    if (removed) await fsyncDir(this.dir);
  }
}

export function stateOf(rec: LedgerRecord): LedgerStateRecord {
  return {
    ledgerId: rec.ledgerId,
    flags: rec.flags,
    lac: rec.lac,
    lastEntryId: rec.lastEntryId,
    masterKey: rec.masterKey,
  };
}

function corrupt(file: string, offset: number, why: string) {
  return BookieErrors.make('BOOKIE_INDEX_CORRUPT', { file, offset, why });
}

function applyState(rec: LedgerRecord, s: LedgerStateRecord): void {
  rec.setFlags(s.flags);
  rec.lac = Math.max(rec.lac, s.lac);
  rec.lastEntryId = Math.max(rec.lastEntryId, s.lastEntryId);
  if (s.masterKey) rec.masterKey = s.masterKey;
  rec.dirty = false;
}

type Account = (rec: LedgerRecord, s: Slot, sign: 1 | -1) => void;

async function loadSnapshot(
  snap: SharedFile,
  gen: number,
  ledgers: Map<number, LedgerRecord>,
  account: Account,
): Promise<void> {
  const { size } = await snap.fh.stat();
  let pos = 0;
  let rec: LedgerRecord | undefined;
  for (;;) {
    const want = Math.min(
      Math.max(CHUNK_BYTES, FRAME_HEADER_BYTES + PAGE_SLOTS_OFFSET + PAGE_BYTES),
      size - pos,
    );
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await snap.fh.read(buf, 0, want, pos);
    const res = scanFrames(buf.subarray(0, bytesRead), gen, MAX_INDEX_FRAME);
    for (const f of res.frames) {
      if (f.type === IndexRecordType.END) return;
      if (f.type === IndexRecordType.LEDGER) {
        const s = decodeLedgerState(f.payload);
        if (!s) throw corrupt(snap.path, pos + f.offset, 'bad ledger record');
        rec = new LedgerRecord(s.ledgerId);
        applyState(rec, s);
        ledgers.set(s.ledgerId, rec);
      } else if (f.type === IndexRecordType.PAGE) {
        const p = decodePage(f.payload);
        if (!p || !rec || p.ledgerId !== rec.ledgerId) throw corrupt(snap.path, pos + f.offset, 'bad page');
        rec.snapPages.set(p.pageNo, pos + f.offset + FRAME_HEADER_BYTES + PAGE_SLOTS_OFFSET);
        for (let i = 0; i < PAGE_ENTRIES; i++) {
          const s = slotAt(p.slots, i);
          if (s) account(rec, s, 1);
        }
      } else throw corrupt(snap.path, pos + f.offset, `unexpected record type ${f.type}`);
    }
    pos += res.end;
    const atEof = pos >= size || bytesRead === 0;
    if ((res.stop === 'short' || res.stop === 'end') && !atEof) continue;
    throw corrupt(snap.path, pos, `snapshot ends without its END record (${res.stop})`);
  }
}

function applyLogFrame(
  f: Frame,
  ledgers: Map<number, LedgerRecord>,
  logLive: Map<number, number>,
  account: Account,
  path: string,
): void {
  const get = (id: number) => {
    let rec = ledgers.get(id);
    if (!rec) {
      rec = new LedgerRecord(id);
      ledgers.set(id, rec);
    }
    return rec;
  };
  if (f.type === IndexRecordType.LEDGER) {
    const s = decodeLedgerState(f.payload);
    if (!s) throw corrupt(path, f.offset, 'bad ledger record');
    applyState(get(s.ledgerId), s);
  } else if (f.type === IndexRecordType.SLOTS) {
    const run = decodeSlotRun(f.payload);
    if (!run) throw corrupt(path, f.offset, 'bad slot run');
    const rec = get(run.ledgerId);
    run.slots.forEach((s, i) => {
      const prev = rec.setSlot(run.firstEntryId + i, s);
      if (prev) account(rec, prev, -1);
      account(rec, s, 1);
    });
    rec.dirty = false;
  } else if (f.type === IndexRecordType.DELETE) {
    const id = decodeLedgerId(f.payload);
    if (id === undefined) throw corrupt(path, f.offset, 'bad delete record');
    const rec = ledgers.get(id);
    if (rec)
      for (const [logId, bytes] of rec.bytesPerLog) logLive.set(logId, (logLive.get(logId) ?? 0) - bytes);
    ledgers.delete(id);
  } else throw corrupt(path, f.offset, `unexpected record type ${f.type}`);
}
