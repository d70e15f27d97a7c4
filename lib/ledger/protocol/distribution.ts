/**
 * Round-robin striping and quorum coverage (internals.md §1.2, §0 fact 4).
 *
 * Entry e lives on ensemble indexes (e + i) mod E for i < Qw: its write set. There are only E
 * distinct write sets, one starting at each index.
 *
 * Coverage: an operation that must hear from "enough" bookies of an ensemble before concluding
 * (fencing, reading the LAC) is covered once, in EVERY write set, at most Qa − 1 bookies are still
 * unaccounted for, i.e. at least Qw − Qa + 1 answered. Then no write set has Qa bookies left that
 * could still confirm an add the operation did not see.
 */
import { assert } from '../../assert.ts';

export interface Quorum {
  readonly ensembleSize: number;
  readonly writeQuorum: number;
  readonly ackQuorum: number;
}

export function isValidQuorum(q: Quorum): boolean {
  return (
    Number.isInteger(q.ensembleSize) &&
    Number.isInteger(q.writeQuorum) &&
    Number.isInteger(q.ackQuorum) &&
    q.ackQuorum >= 1 &&
    q.writeQuorum >= q.ackQuorum &&
    q.ensembleSize >= q.writeQuorum
  );
}

/** Ensemble indexes holding entry `entryId`, in write-set order. */
export function writeSetIndexes(entryId: number, q: Quorum): number[] {
  assert(entryId >= 0 && Number.isSafeInteger(entryId), 'entry id must be a non-negative integer', {
    entryId,
  });
  const out = new Array<number>(q.writeQuorum);
  const start = entryId % q.ensembleSize;
  for (let i = 0; i < q.writeQuorum; i++) out[i] = (start + i) % q.ensembleSize;
  return out;
}

/** Bookie ids holding `entryId` in `ensemble`, in write-set order. */
export function writeSet(entryId: number, ensemble: readonly string[], q: Quorum): string[] {
  assert(ensemble.length === q.ensembleSize, 'ensemble size mismatch', { ensemble, q });
  return writeSetIndexes(entryId, q).map((i) => ensemble[i]);
}

/** Answers needed from one write set before an entry may be declared absent: Qw − Qa + 1. */
export function absenceQuorum(q: Quorum): number {
  return q.writeQuorum - q.ackQuorum + 1;
}

/** Tracks which ensemble indexes have answered; `covered()` applies the rule above. */
export class CoverageTracker {
  readonly #q: Quorum;
  readonly #answered: boolean[];

  constructor(q: Quorum) {
    assert(isValidQuorum(q), 'invalid quorum', { ...q });
    this.#q = q;
    this.#answered = new Array<boolean>(q.ensembleSize).fill(false);
  }

  markAnswered(index: number): void {
    assert(index >= 0 && index < this.#q.ensembleSize, 'ensemble index out of range', { index });
    this.#answered[index] = true;
  }

  covered(): boolean {
    const need = absenceQuorum(this.#q);
    for (let start = 0; start < this.#q.ensembleSize; start++) {
      let answered = 0;
      for (let i = 0; i < this.#q.writeQuorum; i++) {
        if (this.#answered[(start + i) % this.#q.ensembleSize]) answered++;
      }
      if (answered < need) return false;
    }
    return true;
  }
}
