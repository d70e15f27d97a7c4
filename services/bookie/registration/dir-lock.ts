/**
 * One bookie process per directory: a LOCK file holding the owner's pid, created exclusively.
 * A lock left by a dead process (kill -9) is taken over; a live owner makes startup fail.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BookieErrors } from '../errors.ts';

const NAME = 'LOCK';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DirLock {
  release(): Promise<void>;
}

export async function lockDir(dir: string): Promise<DirLock> {
  const path = join(dir, NAME);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return {
        release: async () => {
          await unlink(path).catch(() => {});
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw BookieErrors.make('BOOKIE_DIR_LOCKED', { dir, pid });
      }
      await unlink(path).catch(() => {});
    }
  }
  throw BookieErrors.make('BOOKIE_DIR_LOCKED', { dir, pid: 'unknown' });
}
