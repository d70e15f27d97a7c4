import { describe, expect, it } from 'vitest';
import { SlabPool } from './slabs.ts';

describe('journal slab pool', () => {
  it('reuses a slab only once no unwritten group and no cached entry lives in it', () => {
    const pool = new SlabPool(1024, 4096);
    const first = pool.current;
    first.users = 1;
    first.holds = 2;
    const copyA = first.buf.subarray(0, 10);
    const copyB = first.buf.subarray(10, 20);
    const second = pool.next(100);
    expect(second).not.toBe(first);
    const third = pool.next(100); // first is still busy: a new slab
    expect(third).not.toBe(first);
    first.users = 0;
    pool.maybeFree(first);
    pool.release(copyA);
    expect(pool.next(100)).not.toBe(first); // one cached entry still holds it
    pool.release(copyB);
    expect(pool.next(100)).toBe(first);
    pool.release(Buffer.alloc(5)); // foreign memory is ignored
  });

  it('bounds the pooled bytes and gives oversized frames their own slab', () => {
    const pool = new SlabPool(1024, 2048);
    const big = pool.next(5000);
    expect(big.buf.length).toBe(5000);
    const before = pool.allocated;
    for (let i = 0; i < 10; i++) pool.next(10);
    expect(pool.allocated - before).toBeLessThanOrEqual(2);
  });
});
