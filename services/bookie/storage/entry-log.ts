/**
 * Entry logs: files `entrylog-<8 hex id>.log` shared by all ledgers, written only by checkpoints
 * and compaction (serialized), append-only, never reopened for writing after a restart.
 *
 *   header (64 bytes): "MGENTLOG" | u32 LE version | u32 LE logId | zeros
 *   records: u32 LE envelopeBytes | envelope (the entry exactly as the client sent it)
 *
 * A slot (logId, offset of the envelope, length) is all a read needs; the envelope's own crc32c
 * checks it. Writes are copied into 1 MiB chunks and written with one pwrite each; `sync()`
 * makes everything written durable (fdatasync of every log touched). Synced ranges are dropped
 * from the page cache (option `dropPageCache`, lib/util/page-cache.ts: appends into recycled
 * pages cost a fraction of the CPU of appends into fresh ones).
 */
import { open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../../lib/assert.ts';
import { dropPageCache } from '../../../lib/util/page-cache.ts';
import { fsyncDir } from '../journal/files.ts';
import { RETIRED, SharedFile } from './file-ref.ts';
import type { Slot } from './ledger-record.ts';

export const ENTRY_LOG_HEADER_BYTES = 64;
const MAGIC = 'MGENTLOG';
const CHUNK_BYTES = 1024 * 1024;
const LOG_RE = /^entrylog-([0-9a-f]{8})\.log$/;

export function entryLogName(id: number): string {
  return `entrylog-${id.toString(16).padStart(8, '0')}.log`;
}

interface WritingLog {
  readonly id: number;
  readonly file: SharedFile;
  /** Bytes written or buffered (next record offset). */
  size: number;
  /** Bytes already dropped from the page cache (all synced). */
  dropped: number;
}

export interface EntryLogOptions {
  /** Force write-back this often while a checkpoint writes (bytes). */
  readonly syncEveryBytes?: number;
  /** Drop synced ranges from the page cache. */
  readonly dropPageCache?: boolean;
}

export class EntryLogs {
  readonly dir: string;
  readonly #maxBytes: number;
  /** Every log on disk with its size. */
  readonly #sizes = new Map<number, number>();
  readonly #readers = new Map<number, SharedFile>();
  #current: WritingLog | undefined;
  #nextId: number;
  #chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  #chunkLen = 0;
  #chunkLog: WritingLog | undefined;
  #chunkStart = 0;
  readonly #unsynced = new Set<WritingLog>();
  readonly #syncEveryBytes: number;
  readonly #dropPageCache: boolean;
  #unsyncedBytes = 0;

  private constructor(dir: string, maxBytes: number, nextId: number, o: EntryLogOptions) {
    this.dir = dir;
    this.#maxBytes = maxBytes;
    this.#nextId = nextId;
    this.#syncEveryBytes = o.syncEveryBytes ?? 4 * 1024 * 1024;
    this.#dropPageCache = o.dropPageCache ?? false;
  }

  /**
   * `syncEveryBytes`: write-back is forced this often while a checkpoint writes, so that one
   * large fdatasync at its end does not stall the journal's fsyncs on the same disk.
   */
  static async open(dir: string, maxBytes: number, o: EntryLogOptions = {}): Promise<EntryLogs> {
    const ids: number[] = [];
    for (const name of await readdir(dir)) {
      const m = LOG_RE.exec(name);
      if (m) ids.push(Number.parseInt(m[1], 16));
    }
    const logs = new EntryLogs(dir, maxBytes, ids.length ? Math.max(...ids) + 1 : 0, o);
    for (const id of ids) {
      const path = join(dir, entryLogName(id));
      const fh = await open(path, 'r');
      const { size } = await fh.stat();
      logs.#sizes.set(id, size);
      logs.#readers.set(id, new SharedFile(fh, path));
    }
    return logs;
  }

  /** Ids of every log, ascending. */
  ids(): number[] {
    return [...this.#sizes.keys()].sort((a, b) => a - b);
  }

  sizeOf(id: number): number {
    return this.#sizes.get(id) ?? 0;
  }

  get currentId(): number | undefined {
    return this.#current?.id;
  }

  totalBytes(): number {
    let n = 0;
    for (const s of this.#sizes.values()) n += s;
    return n;
  }

  /**
   * Append one envelope without waiting when it fits the current chunk and log; undefined when
   * the caller must use `append` (a chunk write or a new log is due).
   */
  tryAppend(body: Uint8Array): Slot | undefined {
    const log = this.#current;
    const recordBytes = 4 + body.byteLength;
    if (!log || log.size + recordBytes > this.#maxBytes || this.#chunkLog !== log) return undefined;
    if (this.#chunk.length - this.#chunkLen < recordBytes) return undefined;
    return this.#put(log, body);
  }

  /** Append one envelope; returns its slot. Call `sync` before the slot is published in the index. */
  async append(body: Uint8Array): Promise<Slot> {
    const recordBytes = 4 + body.byteLength;
    if (!this.#current || this.#current.size + recordBytes > this.#maxBytes) await this.#roll();
    const log = this.#current!;
    if (this.#chunkLog !== log || this.#chunk.length - this.#chunkLen < recordBytes) {
      await this.flushChunk();
      this.#chunkLog = log;
      this.#chunkStart = log.size;
      if (this.#chunk.length < recordBytes) this.#chunk = Buffer.allocUnsafe(recordBytes);
    }
    return this.#put(log, body);
  }

  #put(log: WritingLog, body: Uint8Array): Slot {
    const recordBytes = 4 + body.byteLength;
    this.#chunk.writeUInt32LE(body.byteLength, this.#chunkLen);
    this.#chunk.set(body, this.#chunkLen + 4);
    this.#chunkLen += recordBytes;
    const slot = { logId: log.id, offset: log.size + 4, length: body.byteLength };
    log.size += recordBytes;
    this.#sizes.set(log.id, log.size);
    return slot;
  }

  /** Write the buffered chunk. */
  async flushChunk(): Promise<void> {
    const log = this.#chunkLog;
    if (!log || this.#chunkLen === 0) return;
    const len = this.#chunkLen;
    this.#chunkLen = 0;
    await log.file.fh.write(this.#chunk, 0, len, this.#chunkStart);
    this.#chunkStart += len;
    this.#unsynced.add(log);
    this.#unsyncedBytes += len;
    if (this.#unsyncedBytes >= this.#syncEveryBytes) await this.#syncFiles();
  }

  /** Make every appended envelope durable. */
  async sync(): Promise<void> {
    await this.flushChunk();
    await this.#syncFiles();
  }

  async #syncFiles(): Promise<void> {
    this.#unsyncedBytes = 0;
    for (const log of [...this.#unsynced]) {
      const synced = this.#writtenBytes(log);
      await log.file.fh.datasync();
      this.#unsynced.delete(log);
      if (this.#dropPageCache && synced > log.dropped) {
        await dropPageCache(log.file.fh.fd, log.dropped, synced - log.dropped);
        log.dropped = synced;
      }
    }
  }

  /** Bytes of `log` handed to the file (what waits in the chunk is not). */
  #writtenBytes(log: WritingLog): number {
    return log === this.#chunkLog ? log.size - this.#chunkLen : log.size;
  }

  /** Read `length` bytes at `offset` of log `id`; undefined if the log is gone. */
  async read(id: number, offset: number, length: number): Promise<Buffer | undefined> {
    const file = this.#readers.get(id);
    if (!file) return undefined;
    const res = await file.use(async (fh) => {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return bytesRead === length ? buf : undefined;
    });
    return res === RETIRED ? undefined : res;
  }

  /** Delete a log (compacted or dead). Readers in flight finish first. */
  async delete(id: number): Promise<void> {
    assert(id !== this.#current?.id, 'the log being written cannot be deleted', { id });
    const file = this.#readers.get(id);
    this.#readers.delete(id);
    this.#sizes.delete(id);
    await unlink(join(this.dir, entryLogName(id))).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await fsyncDir(this.dir);
    await file?.retire();
  }

  async close(): Promise<void> {
    await this.sync().catch(() => {});
    for (const f of this.#readers.values()) await f.retire();
    this.#readers.clear();
  }

  async #roll(): Promise<void> {
    if (this.#current) {
      await this.sync();
      this.#current = undefined;
    }
    const id = this.#nextId++;
    const path = join(this.dir, entryLogName(id));
    const fh = await open(path, 'wx+');
    const header = Buffer.alloc(ENTRY_LOG_HEADER_BYTES);
    header.write(MAGIC, 0, 'latin1');
    header.writeUInt32LE(1, 8);
    header.writeUInt32LE(id, 12);
    await fh.write(header, 0, header.length, 0);
    await fsyncDir(this.dir);
    const file = new SharedFile(fh, path);
    this.#current = { id, file, size: ENTRY_LOG_HEADER_BYTES, dropped: 0 };
    this.#sizes.set(id, ENTRY_LOG_HEADER_BYTES);
    this.#readers.set(id, file);
    this.#unsynced.add(this.#current);
  }
}
