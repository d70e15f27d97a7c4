/**
 * Journal replay on restart: every record after the checkpoint mark is applied again, in order.
 *
 * How a file ends tells what happened (see frame.ts for the stop reasons):
 * - a file the writer moved on from always ends with an END frame;
 * - the last file holding data may stop anywhere: at zeros or stale frames (clean), or at a torn
 *   frame (a group write cut by a crash; never acknowledged, because the fsync did not return).
 * The last data file is sealed with an END frame where its valid frames stop (a torn tail is cut
 * off there first), so the next start sees a clean chain again. A file that stops early while a
 * later file holds data lost acknowledged records in the middle: that is corruption, reported so
 * the bookie can treat its ledgers as unknown (never answer "no such entry" from it).
 */
import { randomUUID } from 'node:crypto';
import { open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FRAME_HEADER_BYTES, encodeFrame, scanFrames, type StopReason } from './frame.ts';
import { fsyncDir, type JournalFileRef, listJournalFiles } from './files.ts';
import { decodeRecord, type JournalRecord, RecordType } from './records.ts';
import type { JournalMark } from './writer.ts';

const CHUNK_BYTES = 8 * 1024 * 1024;

export interface FileScan {
  readonly id: number;
  /** Where scanning started and where the valid frames end. */
  readonly start: number;
  readonly end: number;
  readonly stop: StopReason | 'end-frame' | 'bad-record' | 'missing';
  readonly frames: number;
  readonly sizeBytes: number;
}

export type RecoveryPlan = {
  /** Seal this file at this offset with an END frame (cut what follows if `torn`). */
  readonly seal?: {
    readonly fileId: number;
    readonly offset: number;
    readonly torn: boolean;
    readonly stop: string;
  };
  /** Acknowledged data may be missing here. */
  readonly corruption?: { readonly fileId: number; readonly offset: number; readonly why: string };
};

const CLEAN_STOPS = new Set(['end', 'zeros', 'other-file', 'missing']);

/** Decide, from how each replayed file ended, what to seal and whether data went missing (pure). */
export function planRecovery(scans: readonly FileScan[]): RecoveryPlan {
  let last = -1;
  for (let i = 0; i < scans.length; i++) if (scans[i].frames > 0 || scans[i].start > 0) last = i;
  if (last < 0) return {};
  for (let i = 0; i < last; i++) {
    const s = scans[i];
    if (s.stop !== 'end-frame') {
      return {
        corruption: { fileId: s.id, offset: s.end, why: `file stops (${s.stop}) before a later file's data` },
        seal: sealOf(scans[last]),
      };
    }
    if (scans[i + 1].id !== s.id + 1) {
      return {
        corruption: { fileId: s.id + 1, offset: 0, why: 'journal file missing' },
        seal: sealOf(scans[last]),
      };
    }
  }
  const s = scans[last];
  if (s.stop === 'bad-record') {
    return {
      corruption: { fileId: s.id, offset: s.end, why: 'a frame with a valid checksum holds no valid record' },
      seal: sealOf(s),
    };
  }
  return { seal: sealOf(s) };
}

function sealOf(s: FileScan): RecoveryPlan['seal'] {
  if (s.stop === 'end-frame') return undefined;
  return { fileId: s.id, offset: s.end, torn: !CLEAN_STOPS.has(s.stop), stop: s.stop };
}

export interface ReplayOutcome {
  readonly scans: FileScan[];
  readonly plan: RecoveryPlan;
  readonly records: number;
  /** Bytes cut off a torn tail. */
  readonly truncatedBytes: number;
  /** The first journal file id the writer may use. */
  readonly nextFileId: number;
}

export type ApplyRecord = (rec: JournalRecord, after: JournalMark) => void | Promise<void>;

/** Replay every record after `mark`, then seal the journal per `planRecovery`. */
export async function replayJournal(
  dir: string,
  mark: JournalMark,
  maxFrameBytes: number,
  recycled: string[],
  apply: ApplyRecord,
): Promise<ReplayOutcome> {
  const files = (await listJournalFiles(dir)).filter((f) => f.id >= mark.fileId);
  const scans: FileScan[] = [];
  let records = 0;
  if (files.length > 0 && files[0].id !== mark.fileId) {
    scans.push({
      id: mark.fileId,
      start: mark.offset,
      end: mark.offset,
      stop: 'missing',
      frames: 0,
      sizeBytes: 0,
    });
  }
  for (const f of files) {
    const start = f.id === mark.fileId ? mark.offset : 0;
    const scan = await scanFile(f, start, maxFrameBytes, (rec, after) => {
      records++;
      return apply(rec, after);
    });
    scans.push(scan);
  }
  const plan = planRecovery(scans);
  let truncatedBytes = 0;
  if (plan.seal) {
    const file = files.find((f) => f.id === plan.seal!.fileId);
    if (file) truncatedBytes = await sealFile(file, plan.seal.offset, plan.seal.torn);
  }
  // Files after the last one holding data were prepared but never written: reuse them later.
  const lastData = scans.findLast((s) => s.frames > 0 || s.start > 0)?.id ?? mark.fileId - 1;
  const empty = files.filter((f) => f.id > lastData);
  for (const f of empty) {
    const to = join(dir, `recycle-${randomUUID()}.jnl`);
    await rename(f.path, to);
    recycled.push(to);
  }
  if (empty.length > 0) await fsyncDir(dir);
  return { scans, plan, records, truncatedBytes, nextFileId: Math.max(mark.fileId, lastData + 1) };
}

async function scanFile(
  f: JournalFileRef,
  start: number,
  maxFrameBytes: number,
  apply: ApplyRecord,
): Promise<FileScan> {
  const { size } = await stat(f.path);
  const fh = await open(f.path, 'r');
  let frames = 0;
  try {
    let pos = start;
    for (;;) {
      if (pos > size) return { id: f.id, start, end: pos, stop: 'missing', frames, sizeBytes: size };
      const chunkStart = pos;
      const want = Math.min(Math.max(CHUNK_BYTES, maxFrameBytes), size - pos);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      const res = scanFrames(buf.subarray(0, bytesRead), f.id, maxFrameBytes);
      for (const frame of res.frames) {
        const at = chunkStart + frame.offset;
        const rec = decodeRecord(frame);
        if (rec === undefined)
          return { id: f.id, start, end: at, stop: 'bad-record', frames, sizeBytes: size };
        if (rec.type === 'end')
          return { id: f.id, start, end: at, stop: 'end-frame', frames, sizeBytes: size };
        frames++;
        const done = apply(ownCopy(rec), {
          fileId: f.id,
          offset: at + FRAME_HEADER_BYTES + frame.payload.length,
        });
        if (done) await done;
      }
      pos = chunkStart + res.end;
      const atEof = chunkStart + bytesRead >= size;
      // A frame that spans the chunk boundary, or a chunk that ended on a frame boundary: read on.
      if ((res.stop === 'short' || res.stop === 'end') && !atEof && bytesRead > 0) continue;
      return { id: f.id, start, end: pos, stop: res.stop, frames, sizeBytes: size };
    }
  } finally {
    await fh.close();
  }
}

/** Records keep no reference to the (large) read chunk. */
function ownCopy(rec: JournalRecord): JournalRecord {
  if (rec.type === 'entry') return { ...rec, body: Buffer.from(rec.body) };
  if (rec.type === 'master-key') return { ...rec, key: Buffer.from(rec.key) };
  return rec;
}

/** Write an END frame at `offset`; with `torn`, cut the file there first. Returns bytes cut. */
async function sealFile(f: JournalFileRef, offset: number, torn: boolean): Promise<number> {
  const fh = await open(f.path, 'r+');
  try {
    const { size } = await fh.stat();
    const end = encodeFrame(f.id, RecordType.END, Buffer.alloc(0));
    await fh.write(end, 0, end.length, offset);
    let cut = 0;
    if (torn) {
      cut = Math.max(0, size - offset);
      await fh.truncate(offset + end.length);
    }
    await fh.sync();
    return cut;
  } finally {
    await fh.close();
  }
}
