/**
 * Reusable memory for journal frames. Entries are copied once, into a slab; the copy is both what
 * the journal writes and what the write cache holds until a checkpoint has written it to an
 * entry log. A slab goes back to the pool when no unwritten group (`users`) and no cached entry
 * (`holds`) lives in it. Reusing slabs keeps the add path from allocating (and the garbage
 * collector from chasing) hundreds of MB/s of buffers that would live for seconds.
 */
import { assert } from '../../../lib/assert.ts';
import type { SlabMemory } from '../storage/write-cache.ts';

export interface Slab {
  /** Stable while the slab is pooled or in use (the write cache refers to slabs by id). */
  readonly id: number;
  readonly buf: Buffer;
  /** Unwritten journal groups with a region in this slab. */
  users: number;
  /** Entry copies in this slab still held by a write cache. */
  holds: number;
}

export class SlabPool implements SlabMemory {
  readonly slabBytes: number;
  readonly #maxPooled: number;
  readonly #byBuffer = new Map<ArrayBufferLike, Slab>();
  /** Live slabs by id; ids of dropped slabs are reused. */
  readonly #byId: (Slab | undefined)[] = [];
  readonly #freeIds: number[] = [];
  readonly #free: Slab[] = [];
  current: Slab;
  /** Slabs allocated so far (not taken from the pool). */
  allocated = 0;

  constructor(slabBytes: number, maxPooledBytes: number) {
    this.slabBytes = slabBytes;
    this.#maxPooled = Math.max(2, Math.ceil(maxPooledBytes / slabBytes));
    this.current = this.#allocate(slabBytes);
  }

  /** Make a slab with at least `minBytes` current; the old one is freed if nothing lives in it. */
  next(minBytes: number): Slab {
    const old = this.current;
    this.current = (minBytes <= this.slabBytes ? this.#free.pop() : undefined) ?? this.#allocate(minBytes);
    this.maybeFree(old);
    return this.current;
  }

  /** An entry copy (a view into a slab) is no longer cached. Views of other memory are ignored. */
  release(copy: Uint8Array): void {
    const slab = this.#byBuffer.get(copy.buffer);
    if (slab) this.releaseSlab(slab.id);
  }

  slabIdOf(body: Uint8Array): number {
    return this.#byBuffer.get(body.buffer)?.id ?? -1;
  }

  slabBuffer(id: number): Buffer {
    const slab = this.#byId[id];
    assert(slab && slab.holds > 0, `slab ${id} is not held`);
    return slab.buf;
  }

  releaseSlab(id: number): void {
    const slab = this.#byId[id];
    assert(slab && slab.holds > 0, `slab ${id} released more often than held`);
    slab.holds--;
    this.maybeFree(slab);
  }

  maybeFree(slab: Slab): void {
    if (slab.users > 0 || slab.holds > 0 || slab === this.current) return;
    if (slab.buf.length === this.slabBytes && this.#free.length < this.#maxPooled) {
      if (!this.#free.includes(slab)) this.#free.push(slab);
    } else if (this.#byId[slab.id] === slab) {
      this.#byBuffer.delete(slab.buf.buffer);
      this.#byId[slab.id] = undefined;
      this.#freeIds.push(slab.id);
    }
  }

  #allocate(bytes: number): Slab {
    const id = this.#freeIds.pop() ?? this.#byId.length;
    const buf = Buffer.allocUnsafeSlow(Math.max(this.slabBytes, bytes));
    // Entry views are kept as (slab id, byteOffset): offsets within the slab's own memory.
    assert(buf.byteOffset === 0, 'a slab owns its memory from offset 0');
    const slab: Slab = { id, buf, users: 0, holds: 0 };
    this.#byId[id] = slab;
    this.#byBuffer.set(slab.buf.buffer, slab);
    this.allocated++;
    return slab;
  }
}
