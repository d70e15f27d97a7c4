/**
 * Write-cache budget: adds are admitted while the bytes held (both write caches plus what the
 * journal is syncing) stay under `writeCacheMaxBytes`. A message that does not fit waits for a
 * checkpoint to free room (bounded by the caller's timeout), so memory never grows past the bound.
 */
export class CacheRoom {
  readonly #maxBytes: number;
  readonly #used: () => number;
  readonly #waiters = new Set<() => void>();
  #closed = false;

  constructor(maxBytes: number, used: () => number) {
    this.#maxBytes = maxBytes;
    this.#used = used;
  }

  /** A single message larger than the whole budget still passes when nothing else is held. */
  fits(bytes: number): boolean {
    const used = this.#used();
    return used === 0 || used + bytes <= this.#maxBytes;
  }

  /** Resolves true once `bytes` fit, false after `timeoutMs` or on close. */
  wait(bytes: number, timeoutMs: number): Promise<boolean> {
    if (this.fits(bytes)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!this.fits(bytes) && !this.#closed) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(!this.#closed);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        resolve(false);
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Room may have been freed: re-check every waiter. */
  changed(): void {
    for (const w of [...this.#waiters]) w();
  }

  close(): void {
    this.#closed = true;
    this.changed();
  }
}
