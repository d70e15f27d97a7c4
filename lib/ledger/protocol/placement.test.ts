import { describe, expect, it } from 'vitest';
import { spreadPlacement } from './placement.ts';

function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('spread placement', () => {
  const bookies = Array.from({ length: 9 }, (_, i) => ({
    id: `b${i}`,
    labels: { zone: `z${i % 3}`, rack: `r${i % 2}` },
  }));

  it('puts consecutive positions (hence every write set) in different zones', () => {
    for (let seed = 1; seed < 50; seed++) {
      const ensemble = spreadPlacement.newEnsemble(3, bookies, seeded(seed))!;
      const zones = ensemble.map((id) => bookies.find((b) => b.id === id)!.labels.zone);
      expect(new Set(zones).size).toBe(3);
    }
  });

  it('is random within a domain and fails when there are too few bookies', () => {
    const picks = new Set<string>();
    for (let seed = 1; seed < 50; seed++)
      picks.add(spreadPlacement.newEnsemble(3, bookies, seeded(seed))!.join());
    expect(picks.size).toBeGreaterThan(5);
    expect(spreadPlacement.newEnsemble(10, bookies, seeded(1))).toBeUndefined();
    expect(spreadPlacement.newEnsemble(2, [bookies[0], bookies[0]], seeded(1))).toBeUndefined();
  });

  it('works without labels', () => {
    const plain = [
      { id: 'x', labels: {} },
      { id: 'y', labels: {} },
    ];
    expect(spreadPlacement.newEnsemble(2, plain, seeded(3))!.sort()).toEqual(['x', 'y']);
  });
});
