/**
 * The CHECKPOINT file in the ledger dir: one frame (crc-checked) naming where journal replay
 * starts and which index generation is current. Replaced atomically: written to a temporary
 * file, fsynced, renamed over the old one, and the directory fsynced.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeFrame, scanFrames } from '../journal/frame.ts';
import { fsyncDir } from '../journal/files.ts';
import { BookieErrors } from '../errors.ts';
import {
  type CheckpointState,
  decodeCheckpoint,
  encodeCheckpoint,
  IndexRecordType,
} from './index-records.ts';

const NAME = 'CHECKPOINT';

export async function readCheckpoint(dir: string): Promise<CheckpointState | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(join(dir, NAME));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const res = scanFrames(buf, 0, 1 << 20);
  const frame = res.frames[0];
  const cp = frame?.type === IndexRecordType.CHECKPOINT ? decodeCheckpoint(frame.payload) : undefined;
  if (!cp || res.frames.length !== 1 || res.stop !== 'end') {
    throw BookieErrors.make('BOOKIE_INDEX_CORRUPT', {
      file: join(dir, NAME),
      offset: res.end,
      why: res.stop,
    });
  }
  return cp;
}

export async function writeCheckpoint(dir: string, cp: CheckpointState): Promise<void> {
  const tmp = join(dir, `${NAME}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    const frame = encodeFrame(0, IndexRecordType.CHECKPOINT, encodeCheckpoint(cp));
    await fh.write(frame, 0, frame.length, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, NAME));
  await fsyncDir(dir);
}
