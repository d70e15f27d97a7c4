import { describe, expect, it } from 'vitest';
import { equalBoundaries, rangesOf, topicHash } from '../../lib/cluster/bundle-range.ts';
import { bundleLoads } from './bundle-loads.ts';
import type { TopicLoad } from './ownership.ts';

const load = (topic: string, rate: number, producers = 1): TopicLoad => ({
  topic,
  producers,
  consumers: 2,
  msgRateIn: rate,
  msgRateOut: 2 * rate,
  bytesInPerSec: 100 * rate,
  bytesOutPerSec: 200 * rate,
});

describe('bundleLoads', () => {
  const ranges = rangesOf(equalBoundaries(4));
  const owned = ranges.map((range) => ({ tenant: 'acme', namespace: 'ns', range }));
  const names = Array.from({ length: 40 }, (_, i) => `persistent://acme/ns/t-${i}`);
  const bundleOf = (full: string) =>
    ranges.findIndex((r) => topicHash(full) >= r.lower && topicHash(full) < r.upper);

  it('sums each topic into the bundle its full name hashes into, and reports idle bundles', () => {
    const topics = names.map((n, i) => load(n, i));
    const samples = bundleLoads(owned, topics);
    expect(samples.map((s) => s.range)).toEqual([
      '0x00000000_0x40000000',
      '0x40000000_0x80000000',
      '0x80000000_0xc0000000',
      '0xc0000000_0xffffffff',
    ]);
    for (let b = 0; b < 4; b++) {
      const mine = names.map((n, i) => ({ n, i })).filter(({ n }) => bundleOf(n) === b);
      const rate = mine.reduce((k, { i }) => k + i, 0);
      expect(samples[b]).toEqual({
        namespace: 'acme/ns',
        range: samples[b].range,
        topics: mine.length,
        producers: mine.length,
        consumers: 2 * mine.length,
        msgRateIn: rate,
        msgRateOut: 2 * rate,
        bytesInPerSec: 100 * rate,
        bytesOutPerSec: 200 * rate,
      });
    }
    expect(samples.reduce((k, s) => k + s.topics, 0)).toBe(40);
    expect(bundleLoads(owned, []).every((s) => s.topics === 0 && s.msgRateIn === 0)).toBe(true);
  });

  it('leaves out topics of bundles this broker does not own and of other namespaces', () => {
    const first = owned[0];
    const inFirst = names.filter((n) => bundleOf(n) === 0);
    const elsewhere = names.filter((n) => bundleOf(n) !== 0);
    const samples = bundleLoads(
      [first],
      [
        ...names.map((n) => load(n, 1)),
        load('persistent://other/ns/t-1', 50),
        load('non-persistent://acme/x/y', 9),
      ],
    );
    expect(samples).toHaveLength(1);
    expect(samples[0].topics).toBe(inFirst.length);
    expect(samples[0].msgRateIn).toBe(inFirst.length);
    expect(elsewhere.length).toBeGreaterThan(0);
  });

  it('places the last range inclusively and partitions by their own names', () => {
    const last = { tenant: 'acme', namespace: 'ns', range: { lower: 0, upper: 0xffffffff } };
    const parts = Array.from({ length: 5 }, (_, i) => load(`persistent://acme/ns/p-partition-${i}`, 1));
    const [s] = bundleLoads([last], [...parts, load('acme/ns/short', 1)]);
    expect(s.topics).toBe(6);
  });
});
