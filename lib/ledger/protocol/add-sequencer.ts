/**
 * The add sequencer: the pending-add queue of one ledger writer (internals.md §1.3, §1.7;
 * BookKeeper's PendingAddOp + LedgerHandle.sendAddSuccessCallbacks). Pure: it takes events
 * (submit, a bookie's answer, a clock tick, an ensemble change) and returns effects (send an add,
 * confirm an entry, fail entries, ask for an ensemble change). The driver performs the effects.
 *
 * Rules it enforces:
 * - Entry ids are handed out contiguously; entry e goes to its write set (e+i) mod E, i < Qw, in
 *   the ensemble of the fragment holding e.
 * - An entry is confirmed once Qa bookies of its CURRENT write set acknowledged it AND every
 *   earlier entry is confirmed; the LAC is the last confirmed entry. Confirmations come out in order.
 * - From the moment a bookie of the ensemble fails until the ensemble change is applied, nothing is
 *   confirmed: the new fragment starts at LAC + 1, so the LAC must not move under the change.
 * - After a change, acknowledgements from bookies no longer in an entry's write set are dropped
 *   and the entry is re-sent to the replacements.
 * - FENCED on a normal add fails every pending add (outcome unknown); so does any answer that
 *   cannot be fixed by replacing a bookie, and an add not confirmed within the add timeout.
 */
import { assert } from '../../assert.ts';
import { encodeEnvelope, readEnvelopeHeader } from '../envelope.ts';
import type { LedgerErrorCode } from '../errors.ts';
import { writeSet } from './distribution.ts';
import { ensembleFor, lastSegment, type LedgerMeta } from './metadata.ts';

export interface LedgerFailure {
  readonly code: LedgerErrorCode;
  readonly details: Readonly<Record<string, unknown>>;
}

export type AddOutcome =
  | { readonly kind: 'ok' }
  /** Transport error, timeout, read-only, I/O error, overload: replace the bookie. */
  | { readonly kind: 'bookie-failed'; readonly reason: string }
  | { readonly kind: 'fenced' }
  /** The bookie refused the entry itself (unauthorized, bad request, too large, digest). */
  | { readonly kind: 'rejected'; readonly status: string };

export type SequencerEffect =
  | {
      readonly kind: 'send';
      readonly bookieId: string;
      readonly entryId: number;
      readonly body: Uint8Array;
      readonly recovery: boolean;
    }
  | { readonly kind: 'confirmed'; readonly entryId: number }
  | { readonly kind: 'failed'; readonly entryIds: readonly number[]; readonly failure: LedgerFailure }
  | { readonly kind: 'ensemble-change-needed' };

export interface SequencerOptions {
  readonly meta: LedgerMeta;
  /** Entries up to here are already confirmed (-1 for a new ledger; the start point in recovery). */
  readonly lastAddConfirmed: number;
  /** Total payload length up to and including `lastAddConfirmed`. */
  readonly confirmedLength: number;
  /** Recovery adds: accepted by fenced bookies; bodies are re-sent as read. */
  readonly recovery: boolean;
  readonly addTimeoutMs: number;
  readonly bookieAddTimeoutMs: number;
}

interface PendingEntry {
  readonly entryId: number;
  readonly body: Uint8Array;
  readonly payloadBytes: number;
  /** Ledger length up to and including this entry. */
  readonly length: number;
  readonly submittedAtMs: number;
  readonly acked: Set<string>;
  /** Bookie → time the add was sent and not yet answered. */
  readonly inflight: Map<string, number>;
}

export class AddSequencer {
  readonly #opts: SequencerOptions;
  #meta: LedgerMeta;
  #pending: PendingEntry[] = [];
  #head = 0;
  #lac: number;
  #confirmedLength: number;
  #submittedLength: number;
  #nextEntryId: number;
  #pendingBytes = 0;
  /** Bookies of the current ensemble known to have failed, with why, awaiting replacement. */
  readonly #failed = new Map<string, string>();
  #changeInProgress = false;
  #broken: LedgerFailure | undefined;

  constructor(opts: SequencerOptions) {
    assert(opts.lastAddConfirmed >= -1, 'bad initial LAC', { lac: opts.lastAddConfirmed });
    this.#opts = opts;
    this.#meta = opts.meta;
    this.#lac = opts.lastAddConfirmed;
    this.#confirmedLength = opts.confirmedLength;
    this.#submittedLength = opts.confirmedLength;
    this.#nextEntryId = opts.lastAddConfirmed + 1;
  }

  get lastAddConfirmed(): number {
    return this.#lac;
  }
  get confirmedLength(): number {
    return this.#confirmedLength;
  }
  get nextEntryId(): number {
    return this.#nextEntryId;
  }
  get pendingCount(): number {
    return this.#pending.length - this.#head;
  }
  get pendingBytes(): number {
    return this.#pendingBytes;
  }
  get broken(): LedgerFailure | undefined {
    return this.#broken;
  }
  get meta(): LedgerMeta {
    return this.#meta;
  }
  /** Failed bookies awaiting replacement (bookie id → reason). */
  get failedBookies(): ReadonlyMap<string, string> {
    return this.#failed;
  }
  get changeInProgress(): boolean {
    return this.#changeInProgress;
  }

  /** The pending entries, in order (recovery copies them to a replacement before switching). */
  pendingEntries(): { entryId: number; body: Uint8Array }[] {
    const out: { entryId: number; body: Uint8Array }[] = [];
    for (let i = this.#head; i < this.#pending.length; i++) {
      out.push({ entryId: this.#pending[i].entryId, body: this.#pending[i].body });
    }
    return out;
  }

  /** Assign the next entry id to `payload`, wrap it in its envelope and send it to its write set. */
  submit(payload: Uint8Array, nowMs: number): { entryId: number; effects: SequencerEffect[] } {
    assert(!this.#opts.recovery, 'a recovery sequencer only re-sends recovered entries');
    assert(this.#broken === undefined, 'submit on a broken sequencer');
    const entryId = this.#nextEntryId;
    const length = this.#submittedLength + payload.byteLength;
    const body = encodeEnvelope(
      { ledgerId: this.#meta.ledgerId, entryId, lastAddConfirmed: this.#lac, length },
      payload,
    );
    return { entryId, effects: this.#enqueue(entryId, body, payload.byteLength, length, nowMs) };
  }

  /** Recovery: re-send an entry exactly as it was read (its envelope carries its own length). */
  submitRecovered(entryId: number, body: Uint8Array, nowMs: number): SequencerEffect[] {
    assert(this.#opts.recovery, 'submitRecovered on a writer sequencer');
    assert(this.#broken === undefined, 'submit on a broken sequencer');
    assert(entryId === this.#nextEntryId, 'recovered entries must be re-sent contiguously', {
      entryId,
      expected: this.#nextEntryId,
    });
    const header = readEnvelopeHeader(body);
    assert(header !== undefined && header.entryId === entryId, 'recovered body does not match its id', {
      entryId,
    });
    return this.#enqueue(entryId, body, header.length - this.#submittedLength, header.length, nowMs);
  }

  #enqueue(entryId: number, body: Uint8Array, payloadBytes: number, length: number, nowMs: number) {
    const entry: PendingEntry = {
      entryId,
      body,
      payloadBytes,
      length,
      submittedAtMs: nowMs,
      acked: new Set(),
      inflight: new Map(),
    };
    this.#pending.push(entry);
    this.#nextEntryId = entryId + 1;
    this.#submittedLength = length;
    this.#pendingBytes += body.byteLength;
    return this.#sendMissing(entry, nowMs);
  }

  /** Send `entry` to every bookie of its write set that has neither acked it nor has it in flight. */
  #sendMissing(entry: PendingEntry, nowMs: number): SequencerEffect[] {
    const effects: SequencerEffect[] = [];
    for (const bookieId of this.#writeSetOf(entry.entryId)) {
      if (entry.acked.has(bookieId) || entry.inflight.has(bookieId) || this.#failed.has(bookieId)) continue;
      entry.inflight.set(bookieId, nowMs);
      effects.push({
        kind: 'send',
        bookieId,
        entryId: entry.entryId,
        body: entry.body,
        recovery: this.#opts.recovery,
      });
    }
    return effects;
  }

  #writeSetOf(entryId: number): string[] {
    return writeSet(entryId, ensembleFor(this.#meta, entryId), this.#meta);
  }

  #find(entryId: number): PendingEntry | undefined {
    const first = this.#pending[this.#head];
    if (first === undefined) return undefined;
    const entry = this.#pending[this.#head + (entryId - first.entryId)];
    return entry?.entryId === entryId ? entry : undefined;
  }

  /** A bookie answered an add. */
  onAddResult(entryId: number, bookieId: string, outcome: AddOutcome): SequencerEffect[] {
    const entry = this.#find(entryId);
    // Answers for confirmed or failed entries, or from bookies swapped out of the write set, are stale.
    if (this.#broken || entry === undefined || !entry.inflight.has(bookieId)) return [];
    entry.inflight.delete(bookieId);
    switch (outcome.kind) {
      case 'ok':
        if (!this.#failed.has(bookieId)) entry.acked.add(bookieId);
        return this.#drain();
      case 'bookie-failed':
        return this.#markFailed(bookieId, outcome.reason, entryId);
      case 'fenced':
        if (this.#opts.recovery) {
          return this.failAll({ code: 'ADD_FAILED', details: this.#details(bookieId, 'FENCED') });
        }
        return this.failAll({ code: 'LEDGER_FENCED', details: { ledgerId: this.#meta.ledgerId } });
      case 'rejected':
        return this.failAll({ code: 'ADD_FAILED', details: this.#details(bookieId, outcome.status) });
    }
  }

  #details(bookieId: string, status: string) {
    return { ledgerId: this.#meta.ledgerId, bookieId, status };
  }

  #markFailed(bookieId: string, reason: string, entryId: number): SequencerEffect[] {
    if (this.#failed.has(bookieId)) return [];
    const last = lastSegment(this.#meta);
    if (!last.bookieIds.includes(bookieId)) {
      // Only the last fragment can change. A pending entry in an earlier fragment (possible only
      // if recovery started below the last fragment) cannot get a replacement bookie.
      return this.failAll({
        code: 'INVALID_FRAGMENT',
        details: {
          ledgerId: this.#meta.ledgerId,
          firstEntryId: entryId,
          lastFirstEntryId: last.firstEntryId,
        },
      });
    }
    const first = this.#failed.size === 0 && !this.#changeInProgress;
    this.#failed.set(bookieId, reason);
    // Its acknowledgements must not count any more: the change will drop it from the write sets.
    for (let i = this.#head; i < this.#pending.length; i++) {
      this.#pending[i].acked.delete(bookieId);
      this.#pending[i].inflight.delete(bookieId);
    }
    return first ? [{ kind: 'ensemble-change-needed' }] : [];
  }

  /** Apply timeouts: slow bookies are failed; an add pending past the add timeout fails everything. */
  tick(nowMs: number): SequencerEffect[] {
    if (this.#broken) return [];
    const head = this.#pending[this.#head];
    if (head && nowMs - head.submittedAtMs >= this.#opts.addTimeoutMs) {
      return this.failAll({
        code: 'TIMEOUT',
        details: { ledgerId: this.#meta.ledgerId, operation: 'append', timeoutMs: this.#opts.addTimeoutMs },
      });
    }
    const slow = new Map<string, number>();
    for (let i = this.#head; i < this.#pending.length; i++) {
      for (const [bookieId, sentAtMs] of this.#pending[i].inflight) {
        if (nowMs - sentAtMs >= this.#opts.bookieAddTimeoutMs && !slow.has(bookieId)) {
          slow.set(bookieId, this.#pending[i].entryId);
        }
      }
    }
    const effects: SequencerEffect[] = [];
    for (const bookieId of [...slow.keys()].sort()) {
      effects.push(...this.#markFailed(bookieId, 'add timeout', slow.get(bookieId)!));
    }
    return effects;
  }

  /** The driver starts the metadata CAS loop: the LAC stays frozen until apply/abort. */
  beginEnsembleChange(): { lastAddConfirmed: number; failed: ReadonlyMap<string, string> } {
    assert(!this.#changeInProgress, 'ensemble change already in progress');
    this.#changeInProgress = true;
    return { lastAddConfirmed: this.#lac, failed: new Map(this.#failed) };
  }

  /**
   * The metadata now has `meta` (written by our CAS, or found already changed). Bookies no longer
   * in the last ensemble stop being "failed"; pending entries lose acks from bookies outside their
   * write set and are sent to the bookies they miss.
   */
  applyEnsembleChange(meta: LedgerMeta, nowMs: number): SequencerEffect[] {
    assert(this.#changeInProgress, 'apply without a change in progress');
    assert(meta.ledgerId === this.#meta.ledgerId, 'metadata of another ledger');
    assert(lastSegment(meta).firstEntryId <= this.#lac + 1, 'new fragment would skip pending entries', {
      first: lastSegment(meta).firstEntryId,
      lac: this.#lac,
    });
    this.#meta = meta;
    this.#changeInProgress = false;
    const members = new Set(lastSegment(meta).bookieIds);
    for (const id of [...this.#failed.keys()]) if (!members.has(id)) this.#failed.delete(id);
    if (this.#broken) return [];
    const effects: SequencerEffect[] = [];
    for (let i = this.#head; i < this.#pending.length; i++) {
      const entry = this.#pending[i];
      const ws = new Set(this.#writeSetOf(entry.entryId));
      for (const id of entry.acked) if (!ws.has(id)) entry.acked.delete(id);
      for (const id of entry.inflight.keys()) if (!ws.has(id)) entry.inflight.delete(id);
      effects.push(...this.#sendMissing(entry, nowMs));
    }
    effects.push(...this.#drain());
    if (this.#failed.size > 0) effects.push({ kind: 'ensemble-change-needed' });
    return effects;
  }

  /** The change could not be made (the caller fails the pending adds next, or retries later). */
  abortEnsembleChange(): void {
    assert(this.#changeInProgress, 'abort without a change in progress');
    this.#changeInProgress = false;
  }

  /** Fail every pending add, in entry order; the sequencer accepts nothing afterwards. */
  failAll(failure: LedgerFailure): SequencerEffect[] {
    if (this.#broken) return [];
    this.#broken = failure;
    const entryIds: number[] = [];
    for (let i = this.#head; i < this.#pending.length; i++) entryIds.push(this.#pending[i].entryId);
    this.#pending = [];
    this.#head = 0;
    this.#pendingBytes = 0;
    return [{ kind: 'failed', entryIds, failure }];
  }

  #drain(): SequencerEffect[] {
    if (this.#changeInProgress || this.#failed.size > 0) return [];
    const effects: SequencerEffect[] = [];
    const qa = this.#meta.ackQuorum;
    while (this.#head < this.#pending.length && this.#pending[this.#head].acked.size >= qa) {
      const entry = this.#pending[this.#head];
      assert(entry.entryId === this.#lac + 1, 'confirmations must be contiguous', {
        entryId: entry.entryId,
        lac: this.#lac,
      });
      this.#pending[this.#head] = undefined as unknown as PendingEntry;
      this.#head++;
      this.#lac = entry.entryId;
      this.#confirmedLength = entry.length;
      this.#pendingBytes -= entry.body.byteLength;
      effects.push({ kind: 'confirmed', entryId: entry.entryId });
    }
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
    return effects;
  }
}
