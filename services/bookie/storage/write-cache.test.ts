import { describe, expect, it } from 'vitest';
import { SlabPool } from '../journal/slabs.ts';
import { WriteCache } from './write-cache.ts';

/** An entry copy in the pool's current slab, held as the journal holds it for the cache. */
function copyIn(pool: SlabPool, at: { pos: number }, text: string): Buffer {
  const body = Buffer.from(text);
  if (pool.current.buf.length - at.pos < body.length) {
    pool.next(body.length);
    at.pos = 0;
  }
  const slab = pool.current;
  slab.buf.set(body, at.pos);
  slab.holds++;
  at.pos += body.length;
  return slab.buf.subarray(at.pos - body.length, at.pos);
}

const texts = (cache: WriteCache) =>
  [...cache.sorted()].map((l) => ({
    ledgerId: l.ledgerId,
    entries: Array.from({ length: l.count }, (_, i) => `${l.entryId(i)}:${l.body(i)?.toString()}`),
  }));

describe('write cache', () => {
  it('finds entries put in order, out of order and replaced, and flushes them sorted', () => {
    const pool = new SlabPool(64, 1024);
    const at = { pos: 0 };
    const cache = new WriteCache(pool);
    for (let e = 0; e < 5; e++) cache.put(7, e, copyIn(pool, at, `a${e}`));
    cache.put(3, 10, copyIn(pool, at, 'b10'));
    cache.put(7, 2, copyIn(pool, at, 'A2')); // replaced: still consecutive
    cache.put(3, 8, copyIn(pool, at, 'b8')); // out of order: looked up by id from now on
    cache.put(3, 12, copyIn(pool, at, 'b12'));
    cache.put(3, 8, copyIn(pool, at, 'B8'));
    expect(cache.entries).toBe(8);
    expect(cache.bytes).toBe(2 * 5 + 3 + 2 + 3); // replacements count once
    expect(cache.get(7, 2)?.toString()).toBe('A2');
    expect(cache.get(3, 8)?.toString()).toBe('B8');
    expect(cache.get(3, 9)).toBeUndefined();
    expect(cache.get(7, 5)).toBeUndefined();
    expect(cache.get(9, 0)).toBeUndefined();
    expect([...cache.entryIds(3)].sort((a, b) => a - b)).toEqual([8, 10, 12]);
    expect(texts(cache)).toEqual([
      { ledgerId: 3, entries: ['8:B8', '10:b10', '12:b12'] },
      { ledgerId: 7, entries: ['0:a0', '1:a1', '2:A2', '3:a3', '4:a4'] },
    ]);
  });

  it('holds each slab until every entry in it is released, including replaced ones', () => {
    const pool = new SlabPool(64, 1024);
    const at = { pos: 0 };
    const cache = new WriteCache(pool);
    const first = pool.current;
    for (let e = 0; e < 40; e++) cache.put(1, e, copyIn(pool, at, `entry-${e}`)); // spans slabs
    cache.put(1, 0, copyIn(pool, at, 'again'));
    cache.put(2, 0, copyIn(pool, at, 'other'));
    expect(first.holds).toBeGreaterThan(0);
    cache.deleteLedger(1);
    expect(first.holds).toBe(0);
    expect(cache.entries).toBe(1);
    expect(cache.get(1, 3)).toBeUndefined();
    expect(cache.get(2, 0)?.toString()).toBe('other');
    cache.releaseAll();
    expect(cache.entries).toBe(0);
    expect(cache.bytes).toBe(0);
    expect(pool.current.holds).toBe(0);
  });

  it('keeps bodies that are not slab memory (journal replay) and forgets a deleted ledger mid-flush', () => {
    const pool = new SlabPool(64, 1024);
    const cache = new WriteCache(pool);
    cache.put(5, 0, Buffer.from('replayed-0'));
    cache.put(5, 1, Buffer.from('replayed-1'));
    cache.put(6, 0, Buffer.from('other'));
    const [five] = cache.sorted();
    expect(five.body(1)?.toString()).toBe('replayed-1');
    cache.deleteLedger(5);
    expect(five.body(1)).toBeUndefined();
    expect(cache.get(6, 0)?.toString()).toBe('other');
    cache.releaseAll();
    expect(cache.get(6, 0)).toBeUndefined();
  });

  it('refuses to hand out a view of a slab nothing holds', () => {
    const pool = new SlabPool(64, 1024);
    expect(() => pool.slabBuffer(pool.current.id)).toThrow(/not held/);
    expect(() => pool.releaseSlab(pool.current.id)).toThrow(/released more often/);
  });
});
