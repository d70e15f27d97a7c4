/**
 * Batching of adds toward one bookie: many small adds share one AddStream message. A batch is
 * sent as soon as it holds `countMax` entries or `bytesMax` body bytes, otherwise on the next
 * tick, so a lone add waits at most one turn of the event loop and a burst of appends made in
 * one turn leaves as a few large messages.
 */
import { assert } from '../../assert.ts';

export interface AddBatcherOptions<T> {
  readonly countMax: number;
  readonly bytesMax: number;
  /** Run `fn` after the current turn of the event loop. */
  readonly nextTick: (fn: () => void) => void;
  readonly send: (batch: T[]) => void;
}

export class AddBatcher<T> {
  readonly #o: AddBatcherOptions<T>;
  #batch: T[] = [];
  #bytes = 0;
  #scheduled = false;
  /** Batches sent so far (metrics, tests). */
  batchesSent = 0;

  constructor(o: AddBatcherOptions<T>) {
    assert(o.countMax >= 1 && o.bytesMax >= 1, 'bad batch bounds', {
      countMax: o.countMax,
      bytesMax: o.bytesMax,
    });
    this.#o = o;
  }

  get pendingCount(): number {
    return this.#batch.length;
  }

  add(item: T, bytes: number): void {
    this.#batch.push(item);
    this.#bytes += bytes;
    if (this.#batch.length >= this.#o.countMax || this.#bytes >= this.#o.bytesMax) {
      this.flush();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      this.#o.nextTick(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
  }

  flush(): void {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#bytes = 0;
    this.batchesSent++;
    this.#o.send(batch);
  }

  /** Drop what has not been sent (connection closing); returns it so callers can fail it. */
  drain(): T[] {
    const batch = this.#batch;
    this.#batch = [];
    this.#bytes = 0;
    return batch;
  }
}
