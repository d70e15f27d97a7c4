/**
 * Dropping written file ranges from the page cache (posix_fadvise POSIX_FADV_DONTNEED, called
 * through koffi, which ships a prebuilt FFI binding).
 *
 * Why: appending to a file takes a fresh page-cache page for every 4 KiB written, and on these
 * VMs copying into a fresh page costs 5-10x more CPU than copying into a page the kernel
 * recycled (measured: 1.5 GB of fdatasync'ed appends, 1.7-3.7 s of system time without, 0.4 s
 * with the synced range dropped after each fdatasync). The likely cause, inferred rather than
 * proven: most guest memory (~18 of 24 GiB) was never touched, so each fresh page is first
 * faulted in from the host. Dropping clean pages
 * once they are durable lets the kernel hand the same, already backed, pages to the next writes.
 *
 * Only clean (synced) ranges should be passed: DONTNEED does not write dirty pages back first on
 * every kernel, and the pages dropped must not be needed soon (reads then go to the disk).
 * Where the binding cannot load (not Linux, no libc), `available` is false and calls do nothing.
 */
import { createRequire } from 'node:module';

const POSIX_FADV_DONTNEED = 4;

type Fadvise = ((fd: number, offset: number, length: number, advice: number) => number) & {
  async: (
    fd: number,
    offset: number,
    length: number,
    advice: number,
    cb: (err: unknown, res: number) => void,
  ) => void;
};

function loadFadvise(): Fadvise | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load: (lib: string) => { func: (decl: string) => Fadvise };
    };
    return koffi.load('libc.so.6').func('int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)');
  } catch {
    return undefined;
  }
}

let fadvise: Fadvise | undefined | null = null;

function binding(): Fadvise | undefined {
  if (fadvise === null) fadvise = loadFadvise();
  return fadvise;
}

/** Whether page-cache dropping works on this platform. */
export function pageCacheDropAvailable(): boolean {
  return binding() !== undefined;
}

/**
 * Drop `[offset, offset + length)` of `fd` from the page cache, on a worker thread. Resolves to
 * false when it could not (no binding, or the call failed); never rejects: this is advice.
 */
export function dropPageCache(fd: number, offset: number, length: number): Promise<boolean> {
  const f = binding();
  if (!f || length <= 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    f.async(fd, offset, length, POSIX_FADV_DONTNEED, (err, res) => resolve(!err && res === 0));
  });
}
