import { describe, expect, it } from 'vitest';
import { planShedding, planSplits, type OwnedBundleView, type ShedConfig } from './balancing.ts';
import { type BrokerLoadView, chooseBroker, type LoadLimits, loadScore } from './placement.ts';

const limits: LoadLimits = { brokerMaxMsgRate: 10_000, brokerMaxBytesPerSec: 100_000_000 };
const opts = { overloadThreshold: 0.85, scoreTolerance: 0.1 };
const broker = (id: string, over: Partial<BrokerLoadView> = {}): BrokerLoadView => ({
  id,
  draining: false,
  cpuUsage: 0.1,
  memoryUsage: 0.1,
  msgRate: 0,
  bytesRate: 0,
  bundles: 0,
  ...over,
});

describe('placement', () => {
  it('scores a broker by its most constrained resource', () => {
    expect(loadScore(broker('a', { cpuUsage: 0.3, memoryUsage: 0.5, msgRate: 9_000 }), limits)).toBeCloseTo(
      0.9,
    );
    expect(loadScore(broker('a', { cpuUsage: Number.NaN, memoryUsage: -1 }), limits)).toBe(0);
  });

  it('prefers healthy, then least loaded, then fewest bundles; skips draining brokers', () => {
    const bs = [
      broker('hot', { cpuUsage: 0.95 }),
      broker('busy', { cpuUsage: 0.6 }),
      broker('idle1', { bundles: 3 }),
      broker('idle2', { bundles: 1 }),
      broker('leaving', { draining: true }),
    ];
    expect(chooseBroker(bs, 'x', limits, opts)).toBe('idle2');
    expect(chooseBroker(bs, 'x', limits, { ...opts, pending: new Map([['idle2', 5]]) })).toBe('idle1');
    expect(chooseBroker(bs, 'x', limits, { ...opts, avoid: 'idle2' })).toBe('idle1');
    expect(chooseBroker([broker('hot', { cpuUsage: 0.99 })], 'x', limits, opts)).toBe('hot');
    expect(chooseBroker([broker('d', { draining: true })], 'x', limits, opts)).toBeUndefined();
  });

  it('spreads equal brokers evenly and deterministically', () => {
    const bs = ['a', 'b', 'c', 'd'].map((id) => broker(id));
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const id = chooseBroker(bs, `t/n/bundle-${i}`, limits, opts)!;
      expect(chooseBroker(bs, `t/n/bundle-${i}`, limits, opts)).toBe(id);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const n of counts.values()) expect(n).toBeGreaterThan(800);
  });
});

const shed: ShedConfig = {
  overloadThreshold: 0.85,
  overloadMargin: 0.05,
  scoreTolerance: 0.1,
  graceMs: 60_000,
  maxBundleCountSpread: 0,
  maxUnloadsPerRun: 4,
};
const owned = (name: string, owner: string, msgRate = 0, movedAtMs = 0): OwnedBundleView => ({
  name,
  owner,
  movedAtMs,
  load: { topics: 1, sessions: 1, msgRate, bytesRate: 0 },
});

describe('load shedding', () => {
  it('moves the busiest movable bundles off an overloaded broker to a healthy one', () => {
    const brokers = [broker('a', { cpuUsage: 0.95, msgRate: 1000, bundles: 3 }), broker('b', { bundles: 1 })];
    const bundles = [
      owned('n/1', 'a', 600, 0),
      owned('n/2', 'a', 300),
      owned('n/3', 'a', 100),
      owned('n/4', 'b'),
    ];
    const d = planShedding(brokers, bundles, limits, shed, 1_000_000);
    expect(d[0]).toEqual({ bundle: 'n/1', from: 'a', to: 'b', reason: 'overload' });
    // 0.95 × 0.4 = 0.38 after the first move: below threshold − margin, so one move is enough.
    expect(d).toHaveLength(1);
  });

  it('leaves bundles moved within the grace period and brokers with one bundle alone', () => {
    const brokers = [broker('a', { cpuUsage: 0.95, msgRate: 1000, bundles: 2 }), broker('b')];
    const now = 1_000_000;
    expect(
      planShedding(
        brokers,
        [owned('n/1', 'a', 900, now - 1000), owned('n/2', 'a', 100, now - 1000)],
        limits,
        shed,
        now,
      ),
    ).toEqual([]);
    expect(planShedding(brokers, [owned('n/1', 'a', 900)], limits, shed, now)).toEqual([]);
    // No healthy destination: nothing moves.
    const allHot = [broker('a', { cpuUsage: 0.95, bundles: 2 }), broker('b', { cpuUsage: 0.9 })];
    expect(planShedding(allHot, [owned('n/1', 'a'), owned('n/2', 'a')], limits, shed, now)).toEqual([]);
  });

  it('evens out bundle counts when the spread is enabled, bounded per run', () => {
    const brokers = [broker('a', { bundles: 6 }), broker('b'), broker('c')];
    const bundles = Array.from({ length: 6 }, (_, i) => owned(`n/${i}`, 'a'));
    const d = planShedding(brokers, bundles, limits, { ...shed, maxBundleCountSpread: 1 }, 1_000_000);
    expect(d).toHaveLength(4);
    expect(new Set(d.map((x) => x.to))).toEqual(new Set(['b', 'c']));
    const d2 = planShedding(
      brokers,
      bundles,
      limits,
      { ...shed, maxBundleCountSpread: 1, maxUnloadsPerRun: 10 },
      1_000_000,
    );
    expect(d2).toHaveLength(4); // 2/2/2
  });
});

describe('bundle split decisions', () => {
  const cfg = {
    maxTopics: 10,
    maxSessions: 100,
    maxMsgRate: 1000,
    maxBytesPerSec: 1e6,
    maxBundlesPerNamespace: 3,
    maxSplitsPerRun: 5,
  };
  const cand = (
    name: string,
    ns: string,
    load: Partial<{ topics: number; sessions: number; msgRate: number; bytesRate: number }>,
  ) => ({
    name,
    namespace: ns,
    splittable: true,
    load: { topics: 2, sessions: 0, msgRate: 0, bytesRate: 0, ...load },
  });
  it('splits bundles over any threshold with at least two topics, up to the namespace maximum', () => {
    const out = planSplits(
      [
        cand('a/1', 'a', { topics: 11 }),
        cand('a/2', 'a', { msgRate: 5000 }),
        cand('a/3', 'a', { sessions: 500 }),
        cand('b/1', 'b', { topics: 1, msgRate: 9999 }),
        cand('b/2', 'b', { topics: 5 }),
      ],
      new Map([['a', 1]]),
      cfg,
    );
    expect(out).toEqual(['a/2', 'a/1']);
  });
});
