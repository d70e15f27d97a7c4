/**
 * A file handle shared by concurrent readers. Retiring it (log compacted away, snapshot
 * replaced) closes the descriptor only once the last reader releases it: closing under a read in
 * flight could let the descriptor number be reused by another file and the read return its bytes.
 */
import type { FileHandle } from 'node:fs/promises';

export class SharedFile {
  readonly fh: FileHandle;
  readonly path: string;
  #refs = 0;
  #retired = false;
  #closed: Promise<void> | undefined;

  constructor(fh: FileHandle, path: string) {
    this.fh = fh;
    this.path = path;
  }

  /** Run `fn` with the handle held; false if the file is already retired. */
  async use<T>(fn: (fh: FileHandle) => Promise<T>): Promise<T | typeof RETIRED> {
    if (this.#retired) return RETIRED;
    this.#refs++;
    try {
      return await fn(this.fh);
    } finally {
      if (--this.#refs === 0 && this.#retired) this.#close();
    }
  }

  /** No new readers; closes once the current ones are done. */
  retire(): Promise<void> {
    this.#retired = true;
    if (this.#refs === 0) this.#close();
    return this.#closed ?? Promise.resolve();
  }

  get retired(): boolean {
    return this.#retired;
  }

  #close(): void {
    this.#closed ??= this.fh.close().catch(() => {});
  }
}

export const RETIRED: unique symbol = Symbol('retired');
