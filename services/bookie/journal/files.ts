/**
 * Journal files on disk: `journal-<16 hex id>.jnl`, each preallocated to a fixed size so that
 * group commits overwrite allocated blocks (an fdatasync then writes no file-size metadata; see
 * reference/peers.md: ~4x faster than appending). Trimmed files are kept as `recycle-*.jnl` and
 * renamed into the next id instead of allocating again.
 */
import { randomUUID } from 'node:crypto';
import { constants, writevSync } from 'node:fs';
import { type FileHandle, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../../../lib/assert.ts';

const JOURNAL_RE = /^journal-([0-9a-f]{16})\.jnl$/;
const RECYCLE_RE = /^recycle-[0-9a-f-]+\.jnl$/;
const ZERO_CHUNK_BYTES = 1024 * 1024;

export interface JournalFileRef {
  readonly id: number;
  readonly path: string;
}

export function journalFileName(id: number): string {
  return `journal-${id.toString(16).padStart(16, '0')}.jnl`;
}

export async function listJournalFiles(dir: string): Promise<JournalFileRef[]> {
  const names = await readdir(dir);
  const files: JournalFileRef[] = [];
  for (const name of names) {
    const m = JOURNAL_RE.exec(name);
    if (m) files.push({ id: Number.parseInt(m[1], 16), path: join(dir, name) });
  }
  return files.sort((a, b) => a.id - b.id);
}

export async function listRecycledFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => RECYCLE_RE.test(n)).map((n) => join(dir, n));
}

/** fsync a directory so that creates, renames and unlinks in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Extend (or fill) a file with zeros from `from` up to `size`, an fdatasync after every chunk.
 * The next journal file is prepared while the current one takes group commits: written in one
 * burst and synced once, its 64 MiB rode along with the journal's own fdatasyncs (on a virtual
 * disk a flush persists everything written before it) and stalled them for 30-50 ms. Synced a
 * chunk at a time, a journal fsync waits behind at most one chunk.
 */
async function zeroFill(path: string, from: number, size: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const zeros = Buffer.alloc(Math.min(ZERO_CHUNK_BYTES, Math.max(size - from, 1)));
    for (let off = from; off < size; off += zeros.length) {
      await fh.write(zeros, 0, Math.min(zeros.length, size - off), off);
      await fh.datasync();
    }
  } finally {
    await fh.close();
  }
}

/**
 * Make journal file `id` exist at full size, durably named: reuse a recycled file when one is
 * available, else write a new one full of zeros. Returns its path.
 */
export async function prepareJournalFile(
  dir: string,
  id: number,
  sizeBytes: number,
  recycled: string[],
): Promise<string> {
  const path = join(dir, journalFileName(id));
  const reuse = recycled.pop();
  if (reuse !== undefined) {
    await rename(reuse, path);
    const { size } = await stat(path);
    if (size < sizeBytes) await zeroFill(path, size, sizeBytes);
  } else {
    const fh = await open(path, 'wx');
    await fh.close();
    await zeroFill(path, 0, sizeBytes);
  }
  await fsyncDir(dir);
  return path;
}

/** Retire journal files older than `keepFromId`: recycle up to `keepRecycled`, delete the rest. */
export async function retireJournalFiles(
  dir: string,
  keepFromId: number,
  recycled: string[],
  keepRecycled: number,
): Promise<number> {
  let retired = 0;
  for (const f of await listJournalFiles(dir)) {
    if (f.id >= keepFromId) break;
    if (recycled.length < keepRecycled) {
      const to = join(dir, `recycle-${randomUUID()}.jnl`);
      await rename(f.path, to);
      recycled.push(to);
    } else {
      await unlink(f.path);
    }
    retired++;
  }
  if (retired > 0) await fsyncDir(dir);
  return retired;
}

/** A short write (which Linux does not do to regular files short of an error) is continued, not ignored. */
export function writeAllSync(fd: number, bufs: Buffer[], position: number): void {
  let rest = bufs;
  let pos = position;
  while (rest.length > 0) {
    const n = writevSync(fd, rest, pos);
    pos += n;
    rest = remainingAfter(rest, n);
  }
}

export async function writeAll(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let rest = bufs;
  let pos = position;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, pos);
    pos += bytesWritten;
    rest = remainingAfter(rest, bytesWritten);
  }
}

/** The buffers still to write once `written` bytes of `bufs` went out. */
export function remainingAfter(bufs: Buffer[], written: number): Buffer[] {
  let skip = written;
  let i = 0;
  while (i < bufs.length && skip >= bufs[i].length) skip -= bufs[i++].length;
  if (i === bufs.length) return [];
  if (written === 0) assert(false, 'journal write made no progress');
  return [bufs[i].subarray(skip), ...bufs.slice(i + 1)];
}
