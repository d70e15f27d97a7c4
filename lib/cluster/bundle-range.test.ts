import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  applySplit,
  boundariesProblem,
  equalBoundaries,
  FULL_UPPER,
  findRange,
  formatRange,
  isRangeOf,
  parseRange,
  rangeContains,
  rangesOf,
  splitPoints,
  topicHash,
} from './bundle-range.ts';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('topicHash', () => {
  it('is CRC-32 (IEEE) as Guava Hashing.crc32 computes it, unsigned', () => {
    // The standard CRC-32 check value.
    expect(topicHash('123456789')).toBe(0xcbf43926);
    expect(topicHash('persistent://public/default/t')).toBe(crc32('persistent://public/default/t') >>> 0);
    // UTF-8, not UTF-16.
    expect(topicHash('persistent://a/b/é')).toBe(crc32(Buffer.from('persistent://a/b/é', 'utf8')) >>> 0);
  });
});

describe('bundle boundaries', () => {
  it('divides the hash space like Pulsar: 4 bundles at 0x40000000 steps ending at 0xffffffff', () => {
    expect(equalBoundaries(4).map((b) => b.toString(16))).toEqual([
      '0',
      '40000000',
      '80000000',
      'c0000000',
      'ffffffff',
    ]);
    expect(rangesOf(equalBoundaries(4)).map(formatRange)).toEqual([
      '0x00000000_0x40000000',
      '0x40000000_0x80000000',
      '0x80000000_0xc0000000',
      '0xc0000000_0xffffffff',
    ]);
    expect(equalBoundaries(1)).toEqual([0, FULL_UPPER]);
    expect(() => equalBoundaries(0)).toThrow(/INVALID_BUNDLE/);
  });

  it('puts every hash in exactly one range; the last range includes 0xffffffff', () => {
    const rnd = prng(7);
    for (const n of [1, 2, 3, 4, 7, 16, 128]) {
      const b = equalBoundaries(n);
      expect(boundariesProblem(b)).toBeUndefined();
      const ranges = rangesOf(b);
      const probes = [0, 1, FULL_UPPER, FULL_UPPER - 1, ...b, ...b.map((x) => x - 1).filter((x) => x >= 0)];
      for (let i = 0; i < 500; i++) probes.push(Math.floor(rnd() * 2 ** 32));
      for (const h of probes) {
        const holders = ranges.filter((r) => rangeContains(r, h));
        expect(holders.length, `hash ${h} with ${n} bundles`).toBe(1);
        expect(findRange(b, h)).toEqual(holders[0]);
      }
    }
  });

  it('parses and formats bundle names, refusing malformed ones', () => {
    expect(parseRange('0x40000000_0x80000000')).toEqual({ lower: 0x40000000, upper: 0x80000000 });
    for (const bad of ['', '0x1', '0x2_0x1', '0x0_0x100000000', 'zz_0x1', '0x1_0x1'])
      expect(() => parseRange(bad)).toThrow(/INVALID_BUNDLE/);
    expect(isRangeOf(equalBoundaries(4), parseRange('0x40000000_0x80000000'))).toBe(true);
    expect(isRangeOf(equalBoundaries(4), parseRange('0x40000000_0xc0000000'))).toBe(false);
  });

  it('reports bad boundary lists', () => {
    expect(boundariesProblem([0])).toMatch(/fewer/);
    expect(boundariesProblem([1, FULL_UPPER])).toMatch(/start/);
    expect(boundariesProblem([0, 5, 5, FULL_UPPER])).toMatch(/not above/);
    expect(boundariesProblem([0, 0xfffffff0])).toMatch(/end/);
  });
});

describe('split', () => {
  const full = { lower: 0, upper: FULL_UPPER };
  it('range_equally_divide cuts at the midpoint (Pulsar: lower + (upper-lower)/2)', () => {
    expect(splitPoints(full, { algorithm: 'range_equally_divide' })).toEqual([0x7fffffff]);
    expect(
      splitPoints({ lower: 0x40000000, upper: 0x80000000 }, { algorithm: 'range_equally_divide' }),
    ).toEqual([0x60000000]);
    expect(() => splitPoints({ lower: 5, upper: 6 }, { algorithm: 'range_equally_divide' })).toThrow(
      /BUNDLE_NOT_SPLITTABLE/,
    );
  });

  it('topic_count_equally_divide leaves half the topics on each side', () => {
    const rnd = prng(11);
    const hashes = Array.from({ length: 101 }, () => Math.floor(rnd() * 2 ** 32));
    const [cut] = splitPoints(full, { algorithm: 'topic_count_equally_divide', topicHashes: hashes });
    const below = hashes.filter((h) => h < cut).length;
    expect(Math.abs(below - (hashes.length - below))).toBeLessThanOrEqual(1);
    expect(() => splitPoints(full, { algorithm: 'topic_count_equally_divide', topicHashes: [1] })).toThrow(
      /fewer than two/,
    );
  });

  it('specified_positions_divide accepts interior points only', () => {
    expect(splitPoints(full, { algorithm: 'specified_positions_divide', positions: [30, 10, 30] })).toEqual([
      10, 30,
    ]);
    expect(() => splitPoints(full, { algorithm: 'specified_positions_divide', positions: [0] })).toThrow(
      /not strictly inside/,
    );
    expect(() => splitPoints(full, { algorithm: 'specified_positions_divide', positions: [] })).toThrow(
      /no split/,
    );
  });

  it('applySplit inserts the points and keeps a valid cover', () => {
    const b = equalBoundaries(4);
    const next = applySplit(b, { lower: 0x40000000, upper: 0x80000000 }, [0x60000000]);
    expect(next).toEqual([0, 0x40000000, 0x60000000, 0x80000000, 0xc0000000, FULL_UPPER]);
    expect(boundariesProblem(next)).toBeUndefined();
  });
});
