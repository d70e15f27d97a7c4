/**
 * Unique id allocation (ledger ids) over a counter key.
 *
 * The counter holds the next id nobody has reserved (decimal text). An allocator reserves a whole
 * batch [n, n + batchSize) with one CAS from version v (n) to n + batchSize, then hands the ids out
 * from memory. Why no id is ever handed out twice, across processes and restarts:
 * - a range is used only after the CAS that reserved it succeeded, and CAS serializes reservations,
 *   so reserved ranges never overlap;
 * - the counter only grows, and reservations are durable before use;
 * - if a CAS's outcome is unknown (TIMEOUT), its range is abandoned, never used: at worst ids are
 *   skipped. Unused ids of a batch are also skipped when the process ends. Gaps are fine.
 * Ids stay below 2^53 so they are exact JS numbers; reaching that is ID_SPACE_EXHAUSTED.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isMagnetarError } from '../errors/index.ts';
import { MetadataErrors } from './errors.ts';
import type { MetadataStore } from './store.ts';

/** Largest id ever handed out (2^53 - 1). */
export const MAX_ID = Number.MAX_SAFE_INTEGER;
const MAX_BATCH = 1_000_000;

export interface IdAllocatorOptions {
  /** Counter key, e.g. keys.ledgerIdCounter(cluster). */
  readonly key: string;
  /** Ids reserved per CAS (default 100). Larger = fewer writes, bigger gaps after restarts. */
  readonly batchSize?: number;
  /** First id when the counter does not exist yet (default 1). */
  readonly firstId?: number;
  /** CAS attempts per reservation before giving up under contention (default 100). */
  readonly maxCasAttempts?: number;
}

export class IdAllocator {
  readonly #store: MetadataStore;
  readonly #key: string;
  readonly #batchSize: number;
  readonly #firstId: number;
  readonly #maxCasAttempts: number;
  #next = 0;
  #end = 0; // exclusive
  #reserving: Promise<void> | undefined;

  constructor(store: MetadataStore, opts: IdAllocatorOptions) {
    const batchSize = opts.batchSize ?? 100;
    const firstId = opts.firstId ?? 1;
    const maxCasAttempts = opts.maxCasAttempts ?? 100;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'batchSize', why: `must be 1 … ${MAX_BATCH}` });
    }
    if (!Number.isSafeInteger(firstId) || firstId < 0) {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'firstId', why: 'must be a safe integer >= 0' });
    }
    if (!Number.isInteger(maxCasAttempts) || maxCasAttempts < 1) {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'maxCasAttempts', why: 'must be >= 1' });
    }
    this.#store = store;
    this.#key = opts.key;
    this.#batchSize = batchSize;
    this.#firstId = firstId;
    this.#maxCasAttempts = maxCasAttempts;
  }

  /** A new id, never returned before by any allocator on this counter. */
  async next(): Promise<number> {
    while (this.#next >= this.#end) {
      this.#reserving ??= this.#reserve().finally(() => {
        this.#reserving = undefined;
      });
      await this.#reserving;
    }
    return this.#next++;
  }

  /** Ids left in the current batch (for metrics and tests). */
  get remainingInBatch(): number {
    return this.#end - this.#next;
  }

  async #reserve(): Promise<void> {
    let lastConflict: unknown;
    for (let attempt = 1; attempt <= this.#maxCasAttempts; attempt++) {
      const current = await this.#store.get(this.#key);
      const start = current === undefined ? this.#firstId : this.#parse(current.value);
      const size = Math.min(this.#batchSize, MAX_ID + 1 - start);
      if (size <= 0) {
        throw MetadataErrors.make('ID_SPACE_EXHAUSTED', { key: this.#key, next: start, max: MAX_ID + 1 });
      }
      const end = start + size;
      try {
        await this.#store.put(this.#key, new TextEncoder().encode(String(end)), {
          expectedVersion: current === undefined ? 'absent' : current.version,
        });
        this.#next = start;
        this.#end = end;
        return;
      } catch (err) {
        // Another allocator won the race (conflict), or we cannot know whether our CAS applied
        // (TIMEOUT): either way this range is not ours to use. Read again and retry.
        const retry =
          MetadataErrors.is(err, 'BAD_VERSION') ||
          MetadataErrors.is(err, 'KEY_EXISTS') ||
          MetadataErrors.is(err, 'NO_SUCH_KEY') ||
          MetadataErrors.is(err, 'TIMEOUT');
        if (!retry || !isMagnetarError(err)) throw err;
        lastConflict = err;
        await sleep(Math.floor(Math.random() * Math.min(100, 5 * attempt)));
      }
    }
    throw lastConflict;
  }

  #parse(value: Uint8Array): number {
    const s = new TextDecoder().decode(value);
    const n = Number(s);
    const valid = /^\d{1,16}$/.test(s) && (Number.isSafeInteger(n) || n === MAX_ID + 1);
    if (!valid) {
      throw MetadataErrors.make('CORRUPT_VALUE', {
        key: this.#key,
        what: 'id counter',
        why: JSON.stringify(s),
      });
    }
    return n;
  }
}
