/**
 * Files of the embedded store (one directory, one process):
 *
 *   LOCK              "<pid> <process start time> <token>" of the owning process
 *   snapshot-<gen>    the state when log generation <gen> began (one frame)
 *   wal-<gen>         records applied after that snapshot (frames, appended, fsynced)
 *
 * Frame = u32 LE payload length, u32 LE CRC-32C of the payload, payload (JSON).
 * A torn tail (a frame cut short, or a zero-filled tail, left by a crash during an append that was
 * therefore never acknowledged) is cut off on open. Damage followed by more data cannot come from
 * a torn append: that is STORE_CORRUPT and the store refuses to open rather than lose acknowledged
 * writes silently.
 */
import { randomUUID } from 'node:crypto';
import { type FileHandle, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../util/crc32c.ts';
import { MetadataErrors } from './errors.ts';

const HEADER_BYTES = 8;

export function encodeFrame(payload: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  frame.writeUInt32LE(body.length, 0);
  frame.writeUInt32LE(crc32c(body), 4);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

/** Every intact frame's payload, and where the intact prefix ends (the rest is a torn tail). */
export function decodeFrames(buf: Buffer, file: string): { payloads: unknown[]; validBytes: number } {
  const payloads: unknown[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const intact = frameAt(buf, offset);
    if (!intact) {
      if (isTornTail(buf, offset)) return { payloads, validBytes: offset };
      throw MetadataErrors.make('STORE_CORRUPT', { file, offset, why: 'bad frame followed by more data' });
    }
    try {
      payloads.push(JSON.parse(intact.toString('utf8')));
    } catch {
      throw MetadataErrors.make('STORE_CORRUPT', {
        file,
        offset,
        why: 'frame checksum ok but payload is not JSON',
      });
    }
    offset += HEADER_BYTES + intact.length;
  }
  return { payloads, validBytes: offset };
}

function frameAt(buf: Buffer, offset: number): Buffer | undefined {
  if (buf.length - offset < HEADER_BYTES) return undefined;
  const len = buf.readUInt32LE(offset);
  const end = offset + HEADER_BYTES + len;
  if (len === 0 || end > buf.length) return undefined;
  const body = buf.subarray(offset + HEADER_BYTES, end);
  return crc32c(body) === buf.readUInt32LE(offset + 4) ? body : undefined;
}

/**
 * A crash mid-append leaves a short or bad last frame, or zeros to the end — and no intact frame
 * after it. (An intact frame further on means damage in the middle: corruption, not a torn tail.)
 */
function isTornTail(buf: Buffer, offset: number): boolean {
  let zeros = true;
  for (let i = offset; i < buf.length && zeros; i++) zeros = buf[i] === 0;
  if (zeros) return true;
  for (let o = offset + 1; o < buf.length; o++) if (frameAt(buf, o)) return false;
  if (buf.length - offset < HEADER_BYTES) return true;
  return offset + HEADER_BYTES + buf.readUInt32LE(offset) >= buf.length;
}

/** Appends frames to the current log; `append` resolves only after fdatasync. */
export class WalWriter {
  readonly path: string;
  #fh: FileHandle;
  #size: number;

  private constructor(path: string, fh: FileHandle, size: number) {
    this.path = path;
    this.#fh = fh;
    this.#size = size;
  }

  /** Open (creating) the log and cut it to `validBytes` (dropping a torn tail). */
  static async open(path: string, validBytes: number): Promise<WalWriter> {
    const fh = await open(path, 'a+');
    const { size } = await fh.stat();
    if (size !== validBytes) {
      await fh.truncate(validBytes);
      await fh.datasync();
    }
    return new WalWriter(path, fh, validBytes);
  }

  get sizeBytes(): number {
    return this.#size;
  }

  async append(frames: readonly Buffer[]): Promise<void> {
    const data = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.#fh.write(data, written, data.length - written);
      written += bytesWritten;
    }
    await this.#fh.datasync();
    this.#size += data.length;
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write a file durably and atomically: tmp file, fsync, rename, fsync the directory. */
export async function writeFileDurably(dir: string, name: string, data: Buffer): Promise<void> {
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
}

export async function readSnapshotFile(path: string): Promise<unknown> {
  const buf = await readFile(path);
  const intact = frameAt(buf, 0);
  if (!intact || HEADER_BYTES + intact.length !== buf.length) {
    throw MetadataErrors.make('STORE_CORRUPT', { file: path, offset: 0, why: 'snapshot frame damaged' });
  }
  return JSON.parse(intact.toString('utf8'));
}

/** Generations present in the directory (sorted ascending). */
export async function listGenerations(dir: string): Promise<{ snapshots: number[]; wals: number[] }> {
  const names = await readdir(dir);
  const gens = (prefix: string) =>
    names
      .filter((n) => new RegExp(`^${prefix}-\\d+$`).test(n))
      .map((n) => Number(n.slice(prefix.length + 1)))
      .sort((a, b) => a - b);
  return { snapshots: gens('snapshot'), wals: gens('wal') };
}

export const snapshotName = (gen: number) => `snapshot-${gen}`;
export const walName = (gen: number) => `wal-${gen}`;

export async function removeIfExists(path: string): Promise<void> {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

// ---- the lock file ------------------------------------------------------------------------------

async function processStartTime(pid: number): Promise<string> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '?';
  } catch {
    return '?';
  }
}

async function ownerAlive(pid: number, startTime: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Same pid but a different start time: the pid was reused by another process.
  const now = await processStartTime(pid);
  return startTime === '?' || now === '?' || now === startTime;
}

/** Take `dir/LOCK` for this process, or fail with STORE_LOCKED. Returns the release function. */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'LOCK');
  const token = `${process.pid} ${await processStartTime(process.pid)} ${randomUUID()}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(token);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsyncDir(dir);
      // Two processes clearing the same stale lock at once: only one token survives.
      if ((await readFile(path, 'utf8')) !== token) continue;
      return async () => {
        if ((await readFile(path, 'utf8').catch(() => '')) === token) await removeIfExists(path);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const [pidText, startTime = '?'] = (await readFile(path, 'utf8').catch(() => '')).split(' ');
    const pid = Number(pidText);
    if (Number.isInteger(pid) && pid > 0 && (await ownerAlive(pid, startTime))) {
      throw MetadataErrors.make('STORE_LOCKED', { dir, pid });
    }
    await removeIfExists(path); // stale: its process is gone
  }
  throw MetadataErrors.make('STORE_LOCKED', { dir, pid: 'unknown (lock contended)' });
}
