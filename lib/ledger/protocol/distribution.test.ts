import { describe, expect, it } from 'vitest';
import { absenceQuorum, CoverageTracker, isValidQuorum, writeSet, writeSetIndexes } from './distribution.ts';

const q = (ensembleSize: number, writeQuorum: number, ackQuorum: number) => ({
  ensembleSize,
  writeQuorum,
  ackQuorum,
});

describe('round-robin striping', () => {
  it('puts entry e on indexes (e + i) mod E', () => {
    expect(writeSetIndexes(0, q(3, 2, 2))).toEqual([0, 1]);
    expect(writeSetIndexes(2, q(3, 2, 2))).toEqual([2, 0]);
    expect(writeSetIndexes(7, q(5, 3, 2))).toEqual([2, 3, 4]);
    expect(writeSet(4, ['a', 'b', 'c'], q(3, 3, 2))).toEqual(['b', 'c', 'a']);
  });

  it('validates E >= Qw >= Qa >= 1', () => {
    expect(isValidQuorum(q(3, 2, 2))).toBe(true);
    expect(isValidQuorum(q(1, 1, 1))).toBe(true);
    expect(isValidQuorum(q(2, 3, 2))).toBe(false);
    expect(isValidQuorum(q(3, 2, 3))).toBe(false);
    expect(isValidQuorum(q(3, 2, 0))).toBe(false);
    expect(isValidQuorum(q(3.5, 2, 1))).toBe(false);
  });
});

describe('coverage (Qw - Qa + 1 answers in every write set)', () => {
  it('E=3 Qw=2 Qa=2 needs one answer per write set {0,1} {1,2} {2,0}', () => {
    expect(absenceQuorum(q(3, 2, 2))).toBe(1);
    const c = new CoverageTracker(q(3, 2, 2));
    c.markAnswered(0);
    expect(c.covered()).toBe(false); // {1,2} has no answer
    c.markAnswered(2);
    expect(c.covered()).toBe(true); // 1 is not needed
  });

  it('E=Qw=3 Qa=2 needs two of three', () => {
    const c = new CoverageTracker(q(3, 3, 2));
    c.markAnswered(1);
    expect(c.covered()).toBe(false);
    c.markAnswered(2);
    expect(c.covered()).toBe(true);
  });

  it('agrees with brute force for every subset of small ensembles', () => {
    for (const quorum of [q(3, 2, 2), q(3, 3, 2), q(4, 3, 2), q(5, 3, 2), q(5, 5, 3), q(4, 2, 1)]) {
      for (let mask = 0; mask < 1 << quorum.ensembleSize; mask++) {
        const c = new CoverageTracker(quorum);
        for (let i = 0; i < quorum.ensembleSize; i++) if (mask & (1 << i)) c.markAnswered(i);
        // Covered iff no write set still has Qa bookies that did not answer.
        let expected = true;
        for (let e = 0; e < quorum.ensembleSize; e++) {
          const silent = writeSetIndexes(e, quorum).filter((i) => !(mask & (1 << i))).length;
          if (silent >= quorum.ackQuorum) expected = false;
        }
        expect(c.covered()).toBe(expected);
      }
    }
  });
});
