import { describe, expect, it } from 'vitest';
import { EntryCacheManager } from './entry-cache.ts';

const p = (ledgerId: number, entryId: number) => ({ ledgerId, entryId });
const bytes = (n: number) => new Uint8Array(n);

describe('entry cache', () => {
  it('shares one budget across topics and evicts the oldest inserted entries to the watermark', () => {
    const m = new EntryCacheManager({ maxSizeBytes: 1000, evictionWatermark: 0.7, maxEntrySizeBytes: 400 });
    const a = m.createCache('a');
    const b = m.createCache('b');
    expect(a.put(p(1, 0), bytes(300))).toBe(true);
    expect(b.put(p(1, 0), bytes(300))).toBe(true);
    expect(a.put(p(1, 1), bytes(300))).toBe(true);
    expect(m.stats().sizeBytes).toBe(900);
    // 1200 > 1000: evict the oldest (a:0, b:0) until <= 700.
    expect(b.put(p(1, 1), bytes(300))).toBe(true);
    expect(m.stats()).toMatchObject({ sizeBytes: 600, entries: 2, evictedBytes: 600 });
    expect(a.has(p(1, 0))).toBe(false);
    expect(b.has(p(1, 0))).toBe(false);
    expect(a.sizeBytes + b.sizeBytes).toBe(600);
    // Too large to cache at all.
    expect(a.put(p(1, 2), bytes(401))).toBe(false);
    expect(a.entries).toBe(1);
  });

  it('counts hits and misses and invalidates consumed entries', () => {
    const m = new EntryCacheManager({
      maxSizeBytes: 10_000,
      evictionWatermark: 0.9,
      maxEntrySizeBytes: 10_000,
    });
    const c = m.createCache('t');
    for (let l = 1; l <= 2; l++) for (let e = 0; e < 5; e++) c.put(p(l, e), bytes(10));
    expect(c.get(p(1, 3))).toBeDefined();
    expect(c.get(p(3, 0))).toBeUndefined();
    expect(m.stats()).toMatchObject({ hits: 1, misses: 1, entries: 10 });
    c.invalidateAtOrBefore(p(2, 1));
    expect(c.entries).toBe(3);
    expect(c.has(p(2, 2))).toBe(true);
    c.invalidateLedger(2);
    expect(m.stats()).toMatchObject({ entries: 0, sizeBytes: 0 });
    c.put(p(5, 0), bytes(10));
    c.clear();
    expect(m.stats().sizeBytes).toBe(0);
  });

  it('caches nothing with a zero budget', () => {
    const m = new EntryCacheManager({ maxSizeBytes: 0, evictionWatermark: 0.9, maxEntrySizeBytes: 100 });
    const c = m.createCache('t');
    expect(c.put(p(1, 0), bytes(1))).toBe(false);
    expect(c.entries).toBe(0);
  });
});
