/**
 * Raw disk limits measured in the same run as a benchmark, on the same filesystem:
 * - sequential 64 KiB writes appended to a new file, fdatasync after every MiB;
 * - 4 KiB writes appended, fdatasync after each;
 * - 512 KiB writes over a preallocated file, fdatasync after each (the journal's pattern);
 * - the first again, each synced MiB then dropped from the page cache (the bookie's entry logs
 *   do this: on a VM, appends into fresh page-cache pages cost several times more CPU);
 * - the journal's pattern (128 KiB overwrites, fdatasync each) while another file is appended
 *   at a paced 150 MB/s with an fdatasync per 4 MiB (a bookie checkpoint writing entry logs):
 *   the fsync latency floor an add sees when journal and entry logs share one disk.
 * Each phase is bounded in time and bytes.
 */
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { dropPageCache } from '../../lib/util/page-cache.ts';
import { latencyHistogram } from './histogram.ts';

export interface DiskFigure {
  readonly name: string;
  readonly mbPerSec: number;
  readonly opsPerSec: number;
  readonly fsyncMs: string;
}

async function phase(
  path: string,
  name: string,
  blockBytes: number,
  syncEveryBytes: number,
  seconds: number,
  maxBytes: number,
  preallocate: boolean,
  dropAfterSync = false,
): Promise<DiskFigure> {
  const fh = await open(path, 'w+');
  const block = Buffer.alloc(blockBytes, 0xa5);
  const hist = latencyHistogram();
  try {
    if (preallocate) {
      const zeros = Buffer.alloc(1 << 20);
      for (let off = 0; off < maxBytes; off += zeros.length) await fh.write(zeros, 0, zeros.length, off);
      await fh.sync();
    }
    const t0 = performance.now();
    let written = 0;
    let syncs = 0;
    let sinceSync = 0;
    while (performance.now() - t0 < seconds * 1000 && written + blockBytes <= maxBytes) {
      await fh.write(block, 0, blockBytes, written);
      written += blockBytes;
      sinceSync += blockBytes;
      if (sinceSync >= syncEveryBytes) {
        const s0 = performance.now();
        await fh.datasync();
        hist.record((performance.now() - s0) * 1000);
        if (dropAfterSync) await dropPageCache(fh.fd, written - sinceSync, sinceSync);
        syncs++;
        sinceSync = 0;
      }
    }
    const secs = (performance.now() - t0) / 1000;
    return {
      name,
      mbPerSec: written / 1e6 / secs,
      opsPerSec: syncs / secs,
      fsyncMs: hist.summary(),
    };
  } finally {
    await fh.close();
    await unlink(path).catch(() => {});
  }
}

/** Appends 1 MiB blocks to `path` at `mbPerSec`, fdatasync per 4 MiB, until `stop()` is true. */
async function pacedAppender(path: string, mbPerSec: number, stop: () => boolean): Promise<void> {
  const fh = await open(path, 'w');
  const block = Buffer.alloc(1 << 20, 0x3c);
  const t0 = performance.now();
  let written = 0;
  try {
    while (!stop() && written < 4 * 2 ** 30) {
      const dueMs = (written / (mbPerSec * 1e6)) * 1000;
      const wait = dueMs - (performance.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await fh.write(block, 0, block.length, written);
      written += block.length;
      if (written % (4 << 20) === 0) {
        await fh.datasync();
        await dropPageCache(fh.fd, written - (4 << 20), 4 << 20);
      }
    }
  } finally {
    await fh.close();
    await unlink(path).catch(() => {});
  }
}

async function journalUnderLoad(dir: string, seconds: number): Promise<DiskFigure> {
  let done = false;
  const bg = pacedAppender(join(dir, 'raw-disk-bg.bin'), 150, () => done);
  try {
    return await phase(
      join(dir, 'raw-disk.bin'),
      '128 KiB overwrites, fdatasync each, while another file is appended at 150 MB/s',
      128 * 1024,
      128 * 1024,
      seconds,
      256 << 20,
      true,
    );
  } finally {
    done = true;
    await bg;
  }
}

export async function measureDisk(dir: string, seconds = 3): Promise<DiskFigure[]> {
  const p = join(dir, 'raw-disk.bin');
  return [
    await phase(
      p,
      'sequential 64 KiB appends, fdatasync per MiB',
      64 * 1024,
      1 << 20,
      seconds,
      2 * 2 ** 30,
      false,
    ),
    await phase(p, '4 KiB appends, fdatasync each', 4096, 4096, seconds, 256 << 20, false),
    await phase(
      p,
      '512 KiB overwrites of a preallocated file, fdatasync each',
      512 * 1024,
      512 * 1024,
      seconds,
      512 << 20,
      true,
    ),
    await phase(
      p,
      'sequential 64 KiB appends, fdatasync per MiB, synced MiB dropped from the page cache',
      64 * 1024,
      1 << 20,
      seconds,
      2 * 2 ** 30,
      false,
      true,
    ),
    await journalUnderLoad(dir, seconds),
  ];
}
