import { describe, expect, it } from 'vitest';
import { writeSetIndexes } from './distribution.ts';
import { stripeLength, stripePeriod, stripesOf } from './read-stripes.ts';

const q = (ensembleSize: number, writeQuorum: number) => ({ ensembleSize, writeQuorum, ackQuorum: 1 });

/** The entries a stripe names. */
function entriesOf(s: { first: number; last: number; period: number }): number[] {
  const out: number[] = [];
  for (let e = s.first; e <= s.last; e += s.period) out.push(e);
  return out;
}

describe('read stripes', () => {
  it('period is E when a bookie holds only some entries, else 1', () => {
    expect(stripePeriod(q(3, 2))).toBe(3);
    expect(stripePeriod(q(5, 3))).toBe(5);
    expect(stripePeriod(q(3, 3))).toBe(1);
    expect(stripePeriod(q(1, 1))).toBe(1);
  });

  it('counts the entries first, first + period, … up to last', () => {
    expect(stripeLength(4, 4, 3)).toBe(1);
    expect(stripeLength(4, 6, 3)).toBe(1);
    expect(stripeLength(4, 7, 3)).toBe(2);
    expect(stripeLength(4, 3, 3)).toBe(0);
    expect(stripeLength(0, 9, 1)).toBe(10);
  });

  it('cuts a range into chunks of period × max entries, one stripe per residue', () => {
    expect(stripesOf(5, 16, 3, 2)).toEqual([
      { first: 5, last: 10, period: 3 },
      { first: 6, last: 10, period: 3 },
      { first: 7, last: 10, period: 3 },
      { first: 11, last: 16, period: 3 },
      { first: 12, last: 16, period: 3 },
      { first: 13, last: 16, period: 3 },
    ]);
    expect(stripesOf(7, 8, 3, 100)).toEqual([
      { first: 7, last: 8, period: 3 },
      { first: 8, last: 8, period: 3 },
    ]);
    expect(stripesOf(0, 4, 1, 2)).toEqual([
      { first: 0, last: 1, period: 1 },
      { first: 2, last: 3, period: 1 },
      { first: 4, last: 4, period: 1 },
    ]);
  });

  it('names every entry exactly once, within the bound, each stripe inside one write set', () => {
    for (const [E, Qw] of [
      [3, 2],
      [5, 3],
      [4, 1],
      [3, 3],
    ]) {
      const period = stripePeriod(q(E, Qw));
      for (const [first, last, max] of [
        [0, 0, 1],
        [0, 99, 7],
        [13, 200, 16],
        [1000, 1002, 1000],
      ]) {
        const stripes = stripesOf(first, last, period, max);
        const seen = stripes.flatMap(entriesOf).sort((a, b) => a - b);
        expect(seen).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
        for (const s of stripes) {
          const entries = entriesOf(s);
          expect(entries.length).toBe(stripeLength(s.first, s.last, s.period));
          expect(entries.length).toBeLessThanOrEqual(max);
          // Every bookie of the first entry's write set holds the whole stripe.
          const holders = (e: number) => writeSetIndexes(e, q(E, Qw)).sort((a, b) => a - b);
          for (const e of entries) expect(holders(e)).toEqual(holders(s.first));
        }
      }
    }
  });
});
