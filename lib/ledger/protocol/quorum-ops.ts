/**
 * Small read-side operations, each a pure state machine fed with bookie answers:
 *
 * - QuorumLacOp: fencing (internals.md §1.8) and non-fencing LAC reads (§1.6). Sent to every bookie
 *   of the last ensemble; concludes once covered (every write set has Qw − Qa + 1 answers), with
 *   the maximum LAC seen; fails when every bookie answered and coverage is still missing.
 * - EntryReadOp: a normal read. Asks one bookie of the write set at a time; when one is slow (the
 *   speculative delay) or fails, the next is asked too; the first valid body wins.
 * - RecoveryReadOp: a recovery read (§1.9). Asks the whole write set at once (with the fence flag,
 *   decided by the caller); FOUND on any valid body; ABSENT only when Qw − Qa + 1 bookies said
 *   NO_ENTRY/NO_LEDGER. "Unknown" (a bookie that may have lost data) never counts as absent.
 */
import { assert } from '../../assert.ts';
import { absenceQuorum, CoverageTracker, type Quorum } from './distribution.ts';

export type LacReply = { readonly kind: 'answered'; readonly lac: number } | { readonly kind: 'error' };

export type LacOpResult =
  | { readonly kind: 'pending' }
  | { readonly kind: 'covered'; readonly maxLac: number }
  | { readonly kind: 'failed'; readonly answered: number; readonly errors: number };

export class QuorumLacOp {
  readonly #ensemble: readonly string[];
  readonly #coverage: CoverageTracker;
  readonly #replied = new Set<string>();
  #answered = 0;
  #maxLac = -1;
  #done = false;

  constructor(ensemble: readonly string[], q: Quorum) {
    assert(ensemble.length === q.ensembleSize, 'ensemble size mismatch', { ensemble });
    this.#ensemble = ensemble;
    this.#coverage = new CoverageTracker(q);
  }

  get bookies(): readonly string[] {
    return this.#ensemble;
  }

  onReply(bookieId: string, reply: LacReply): LacOpResult {
    const index = this.#ensemble.indexOf(bookieId);
    if (this.#done || index < 0 || this.#replied.has(bookieId)) return { kind: 'pending' };
    this.#replied.add(bookieId);
    if (reply.kind === 'answered') {
      this.#answered++;
      this.#maxLac = Math.max(this.#maxLac, reply.lac);
      this.#coverage.markAnswered(index);
      if (this.#coverage.covered()) {
        this.#done = true;
        return { kind: 'covered', maxLac: this.#maxLac };
      }
    }
    if (this.#replied.size === this.#ensemble.length) {
      this.#done = true;
      return { kind: 'failed', answered: this.#answered, errors: this.#replied.size - this.#answered };
    }
    return { kind: 'pending' };
  }
}

/** One bookie's answer to a read of one entry (the driver already verified the body). */
export type ReadReply =
  | { readonly kind: 'found'; readonly body: Uint8Array }
  /** NO_ENTRY or NO_LEDGER: the bookie never had it and lost nothing. */
  | { readonly kind: 'absent' }
  /** UNKNOWN_LEDGER_STATE: the bookie may have lost it. */
  | { readonly kind: 'unknown' }
  /** The body failed its digest or carried other ids. */
  | { readonly kind: 'corrupt'; readonly problem: string }
  | { readonly kind: 'error'; readonly reason: string };

export type EntryReadEffect =
  | { readonly kind: 'send'; readonly bookieId: string }
  | { readonly kind: 'arm-speculative-timer' }
  | { readonly kind: 'found'; readonly body: Uint8Array }
  | { readonly kind: 'failed'; readonly reason: string; readonly corrupt: boolean };

export class EntryReadOp {
  readonly entryId: number;
  readonly #candidates: readonly string[];
  #nextCandidate = 0;
  readonly #outstanding = new Set<string>();
  readonly #reasons: string[] = [];
  #corrupt = false;
  #done = false;

  constructor(entryId: number, candidates: readonly string[]) {
    assert(candidates.length > 0, 'read without candidate bookies', { entryId });
    this.entryId = entryId;
    this.#candidates = candidates;
  }

  get done(): boolean {
    return this.#done;
  }

  start(): EntryReadEffect[] {
    return this.#sendNext();
  }

  #sendNext(): EntryReadEffect[] {
    if (this.#nextCandidate >= this.#candidates.length) return [];
    const bookieId = this.#candidates[this.#nextCandidate++];
    this.#outstanding.add(bookieId);
    const effects: EntryReadEffect[] = [{ kind: 'send', bookieId }];
    if (this.#nextCandidate < this.#candidates.length) effects.push({ kind: 'arm-speculative-timer' });
    return effects;
  }

  /** The speculative delay passed with no answer: ask one more bookie. */
  onSpeculativeTimeout(): EntryReadEffect[] {
    return this.#done ? [] : this.#sendNext();
  }

  onReply(bookieId: string, reply: ReadReply): EntryReadEffect[] {
    if (this.#done || !this.#outstanding.delete(bookieId)) return [];
    if (reply.kind === 'found') {
      this.#done = true;
      return [{ kind: 'found', body: reply.body }];
    }
    if (reply.kind === 'corrupt') this.#corrupt = true;
    this.#reasons.push(`${bookieId}: ${reply.kind === 'error' ? reply.reason : reply.kind}`);
    if (this.#nextCandidate < this.#candidates.length) return this.#sendNext();
    if (this.#outstanding.size === 0) {
      this.#done = true;
      return [{ kind: 'failed', reason: this.#reasons.join(', '), corrupt: this.#corrupt }];
    }
    return [];
  }
}

export type RecoveryReadResult =
  | { readonly kind: 'pending' }
  | { readonly kind: 'found'; readonly body: Uint8Array }
  | { readonly kind: 'absent' }
  /** Every bookie answered and neither rule holds: ask again later. */
  | { readonly kind: 'undecided' };

export class RecoveryReadOp {
  readonly entryId: number;
  readonly #writeSet: readonly string[];
  readonly #absentNeeded: number;
  readonly #unknownCountsAsAbsent: boolean;
  readonly #replied = new Set<string>();
  #absent = 0;
  #done = false;

  constructor(entryId: number, writeSet: readonly string[], q: Quorum, unknownCountsAsAbsent = false) {
    assert(writeSet.length === q.writeQuorum, 'write set size mismatch', { entryId, writeSet });
    this.entryId = entryId;
    this.#writeSet = writeSet;
    this.#absentNeeded = absenceQuorum(q);
    this.#unknownCountsAsAbsent = unknownCountsAsAbsent;
  }

  get bookies(): readonly string[] {
    return this.#writeSet;
  }

  onReply(bookieId: string, reply: ReadReply): RecoveryReadResult {
    if (this.#done || !this.#writeSet.includes(bookieId) || this.#replied.has(bookieId)) {
      return { kind: 'pending' };
    }
    this.#replied.add(bookieId);
    if (reply.kind === 'found') {
      this.#done = true;
      return { kind: 'found', body: reply.body };
    }
    const countsAsAbsent =
      reply.kind === 'absent' || (reply.kind === 'unknown' && this.#unknownCountsAsAbsent);
    if (countsAsAbsent && ++this.#absent >= this.#absentNeeded) {
      this.#done = true;
      return { kind: 'absent' };
    }
    if (this.#replied.size === this.#writeSet.length) {
      this.#done = true;
      return { kind: 'undecided' };
    }
    return { kind: 'pending' };
  }
}
