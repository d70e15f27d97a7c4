import { describe, expect, it } from 'vitest';
import { AckRangeSet } from './range-set.ts';

const pos = (ledgerId: number, entryId: number) => ({ ledgerId, entryId });

/** Deterministic PRNG so the model test is reproducible. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('AckRangeSet', () => {
  it('merges adjacent and overlapping entries into ranges per ledger', () => {
    const s = new AckRangeSet();
    expect(s.add(pos(1, 5))).toBe(true);
    expect(s.add(pos(1, 7))).toBe(true);
    expect(s.rangeCount).toBe(2);
    expect(s.add(pos(1, 6))).toBe(true);
    expect(s.toArray()).toEqual([{ ledgerId: 1, first: 5, last: 7 }]);
    expect(s.add(pos(1, 6))).toBe(false);
    // Same entry ids in another ledger never merge with ledger 1.
    s.add(pos(2, 8));
    s.add(pos(2, 0));
    expect(s.toArray()).toEqual([
      { ledgerId: 1, first: 5, last: 7 },
      { ledgerId: 2, first: 0, last: 0 },
      { ledgerId: 2, first: 8, last: 8 },
    ]);
    expect(s.size).toBe(5);
    expect(s.addRange(2, 0, 10)).toBe(9);
    expect(s.toArray()).toEqual([
      { ledgerId: 1, first: 5, last: 7 },
      { ledgerId: 2, first: 0, last: 10 },
    ]);
    s.checkInvariants();
  });

  it('removes everything at or before a position and counts what is left', () => {
    const s = new AckRangeSet();
    s.addRange(1, 2, 9);
    s.addRange(3, 0, 4);
    s.removeAtOrBefore(pos(1, 5));
    expect(s.toArray()).toEqual([
      { ledgerId: 1, first: 6, last: 9 },
      { ledgerId: 3, first: 0, last: 4 },
    ]);
    expect(s.size).toBe(9);
    expect(s.countAtOrAfter(pos(3, 2))).toBe(3);
    expect(s.countBetween(pos(1, 7), pos(3, 1))).toBe(4);
    s.removeLedgersBefore(3);
    expect(s.toArray()).toEqual([{ ledgerId: 3, first: 0, last: 4 }]);
    expect(s.ceilingRange(pos(2, 100))).toEqual({ ledgerId: 3, first: 0, last: 4 });
    expect(s.rangeContaining(pos(3, 5))).toBeUndefined();
    s.checkInvariants();
  });

  it('agrees with a naive set under random operations', () => {
    const rnd = lcg(42);
    const s = new AckRangeSet();
    const model = new Set<string>();
    let cut = { ledgerId: 0, entryId: -1 };
    const isCut = (l: number, e: number) => l < cut.ledgerId || (l === cut.ledgerId && e <= cut.entryId);
    for (let step = 0; step < 4000; step++) {
      const l = 1 + Math.floor(rnd() * 4);
      const e = Math.floor(rnd() * 60);
      if (rnd() < 0.02) {
        cut = { ledgerId: l, entryId: e };
        s.removeAtOrBefore(cut);
        for (const k of [...model]) {
          const [ml, me] = k.split(':').map(Number);
          if (isCut(ml, me)) model.delete(k);
        }
        continue;
      }
      if (isCut(l, e)) continue;
      const added = s.add(pos(l, e));
      expect(added).toBe(!model.has(`${l}:${e}`));
      model.add(`${l}:${e}`);
    }
    s.checkInvariants();
    expect(s.size).toBe(model.size);
    for (let l = 1; l <= 4; l++)
      for (let e = 0; e < 60; e++) expect(s.contains(pos(l, e))).toBe(model.has(`${l}:${e}`));
    const from = pos(2, 10);
    const naive = [...model].filter((k) => {
      const [ml, me] = k.split(':').map(Number);
      return ml > 2 || (ml === 2 && me >= 10);
    }).length;
    expect(s.countAtOrAfter(from)).toBe(naive);
  });
});
