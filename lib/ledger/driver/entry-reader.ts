/**
 * Reading entries and the LAC from bookies (internals.md §1.6): the drivers of EntryReadOp and
 * QuorumLacOp. Every body is verified here, end to end: its digest, and that it carries the
 * ledger and entry ids that were asked for.
 *
 * Bulk reads go by stripes (protocol/read-stripes.ts): with E > Qw the entries of a fragment
 * congruent mod E share a write set, and one striped ReadRange (period E, run 1) to one bookie of
 * it fetches up to readRangeEntriesMax of them; with E = Qw a plain range does. Whatever a range
 * did not return falls back to single reads, which move to the next bookie of the write set on
 * an error and also after the speculative delay, and fail when no bookie has the entry.
 */
import { Status } from '../../gen/magnetar/bookie/v1/bookie_pb.ts';
import { assert } from '../../assert.ts';
import { type DecodedEnvelope, decodeEnvelope } from '../envelope.ts';
import { ledgerError } from '../errors.ts';
import { writeSet } from '../protocol/distribution.ts';
import { ensembleFor, lastSegment, type LedgerMeta, segmentFor } from '../protocol/metadata.ts';
import { type Stripe, stripeLength, stripePeriod, stripesOf } from '../protocol/read-stripes.ts';
import { EntryReadOp, type EntryReadEffect, QuorumLacOp, type ReadReply } from '../protocol/quorum-ops.ts';
import type { DriverContext } from './context.ts';
import type { TimerHandle } from './env.ts';
import { type ReadEntryReply, type ReplyStatus, statusName, TransportStatus } from './transport.ts';

/** Turn a bookie's answer into what the protocol reasons about. */
export function classifyRead(r: ReadEntryReply, ledgerId: number, entryId: number): ReadReply {
  if (r.status === Status.OK && r.body) return classifyBody(r.body, ledgerId, entryId);
  if (r.status === Status.NO_ENTRY || r.status === Status.NO_LEDGER) return { kind: 'absent' };
  if (r.status === Status.UNKNOWN_LEDGER_STATE) return { kind: 'unknown' };
  return { kind: 'error', reason: statusName(r.status) };
}

export function classifyBody(body: Uint8Array, ledgerId: number, entryId: number): ReadReply {
  const d = decodeEnvelope(body);
  if (typeof d === 'string') return { kind: 'corrupt', problem: d };
  if (d.ledgerId !== ledgerId || d.entryId !== entryId) {
    return { kind: 'corrupt', problem: `carries ${d.ledgerId}/${d.entryId}` };
  }
  return { kind: 'found', body };
}

/** How long a bookie that failed a read is asked last. */
const SUSPECT_MS = 5_000;

export class EntryReader {
  readonly #ctx: DriverContext;
  readonly #password: Uint8Array;

  constructor(ctx: DriverContext, password: Uint8Array) {
    this.#ctx = ctx;
    this.#password = password;
  }

  /** Bookies that failed a read recently are asked last (and avoided when planning ranges). */
  #suspect(bookieId: string): boolean {
    const until = this.#ctx.suspectBookies.get(bookieId);
    return until !== undefined && until > this.#ctx.env.nowMs();
  }

  #noteReply(bookieId: string, status: ReplyStatus): void {
    if (status === TransportStatus.UNAVAILABLE || status === TransportStatus.TIMEOUT) {
      this.#ctx.suspectBookies.set(bookieId, this.#ctx.env.nowMs() + SUSPECT_MS);
    } else if (this.#ctx.suspectBookies.has(bookieId)) {
      this.#ctx.suspectBookies.delete(bookieId);
    }
  }

  /** One entry from any bookie of its write set; resolves with the verified envelope. */
  readOne(meta: LedgerMeta, entryId: number): Promise<DecodedEnvelope> {
    const { ctx, ledgerId } = { ctx: this.#ctx, ledgerId: meta.ledgerId };
    const ws = writeSet(entryId, ensembleFor(meta, entryId), meta);
    const candidates = [...ws.filter((b) => !this.#suspect(b)), ...ws.filter((b) => this.#suspect(b))];
    const op = new EntryReadOp(entryId, candidates);
    return new Promise((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const exec = (effects: readonly EntryReadEffect[]) => {
        for (const e of effects) {
          if (e.kind === 'send') {
            const req = { ledgerId, entryId, fence: false, masterKey: this.#password };
            ctx.transport.readEntry(e.bookieId, req, ctx.limits.bookieRequestTimeoutMs, (r) => {
              this.#noteReply(e.bookieId, r.status);
              exec(op.onReply(e.bookieId, classifyRead(r, ledgerId, entryId)));
            });
          } else if (e.kind === 'arm-speculative-timer') {
            timer?.cancel();
            timer = ctx.env.setTimer(ctx.limits.speculativeReadDelayMs, () =>
              exec(op.onSpeculativeTimeout()),
            );
          } else if (e.kind === 'found') {
            timer?.cancel();
            resolve(decodeEnvelope(e.body) as DecodedEnvelope);
          } else {
            timer?.cancel();
            const code = e.corrupt ? 'DIGEST_MISMATCH' : 'READ_FAILED';
            reject(ledgerError(code, { ledgerId, entryId, reason: e.reason, problem: e.reason }));
          }
        }
      };
      exec(op.start());
    });
  }

  /** Entries first..last (caller checked they are confirmed), in order. */
  async readMany(meta: LedgerMeta, first: number, last: number): Promise<DecodedEnvelope[]> {
    assert(first >= 0 && last >= first, 'bad read range', { first, last });
    const out = new Array<DecodedEnvelope>(last - first + 1);
    const stripes = this.#plan(meta, first, last);
    let next = 0;
    const worker = async () => {
      while (next < stripes.length) {
        const { stripe, bookieIds } = stripes[next++];
        await this.#readStripe(meta, stripe, bookieIds, (e, d) => {
          out[e - first] = d;
        });
      }
    };
    const workers = Math.min(this.#ctx.limits.readConcurrencyMax, stripes.length);
    await Promise.all(Array.from({ length: workers }, worker));
    return out;
  }

  /** The stripes of first..last, fragment by fragment, each with its fragment's ensemble. */
  #plan(meta: LedgerMeta, first: number, last: number): { stripe: Stripe; bookieIds: readonly string[] }[] {
    const out: { stripe: Stripe; bookieIds: readonly string[] }[] = [];
    const period = stripePeriod(meta);
    for (let e = first; e <= last; ) {
      const seg = segmentFor(meta, e);
      const after = meta.segments.find((s) => s.firstEntryId > seg.firstEntryId);
      const end = Math.min(last, after === undefined ? last : after.firstEntryId - 1);
      for (const stripe of stripesOf(e, end, period, this.#ctx.limits.readRangeEntriesMax))
        out.push({ stripe, bookieIds: seg.bookieIds });
      e = end + 1;
    }
    return out;
  }

  /**
   * One stripe: striped ReadRanges from one replica (a healthy one, another one after each short
   * answer); the first entry a range did not return goes to a single read (other replicas,
   * speculation, an error when no replica has it), and the range resumes after it. Every step
   * moves forward by at least one entry, so this ends.
   */
  async #readStripe(
    meta: LedgerMeta,
    stripe: Stripe,
    ensemble: readonly string[],
    put: (entryId: number, d: DecodedEnvelope) => void,
  ): Promise<void> {
    const { period, last } = stripe;
    const replicas = writeSet(stripe.first, ensemble, meta);
    let e = stripe.first;
    let shortAnswers = 0;
    while (e <= last) {
      const want = stripeLength(e, last, period);
      if (want > 1) {
        const healthy = replicas.filter((b) => !this.#suspect(b));
        const pool = healthy.length > 0 ? healthy : replicas;
        const r = await this.#readRange(meta, e, want, period, pool[shortAnswers % pool.length]);
        for (const d of r.entries) {
          put(e, d);
          e += period;
        }
        if (e > last || (r.complete && r.entries.length > 0)) continue;
        shortAnswers++;
      }
      put(e, await this.readOne(meta, e));
      e += period;
    }
  }

  /**
   * Up to `want` entries a, a + period, … from `bookieId` (a striped range when period > 1).
   * Returns the verified prefix, and whether the bookie stopped only at a bound (not at a
   * missing, unreadable or corrupt entry).
   */
  #readRange(
    meta: LedgerMeta,
    a: number,
    want: number,
    period: number,
    bookieId: string,
  ): Promise<{ entries: DecodedEnvelope[]; complete: boolean }> {
    const { limits, transport } = this.#ctx;
    const req = {
      ledgerId: meta.ledgerId,
      firstEntryId: a,
      maxEntries: want,
      maxBytes: limits.readRangeBytesMax,
      stride: period > 1 ? { period, run: 1, position: 0 } : undefined,
    };
    return new Promise((resolve) => {
      transport.readRange(bookieId, req, limits.bookieRequestTimeoutMs, (r) => {
        this.#noteReply(bookieId, r.status);
        const entries: DecodedEnvelope[] = [];
        if (r.status !== Status.OK) return resolve({ entries, complete: false });
        const bodies = r.bodies.slice(0, want);
        for (const body of bodies) {
          const c = classifyBody(body, meta.ledgerId, a + entries.length * period);
          if (c.kind !== 'found') break;
          entries.push(decodeEnvelope(body) as DecodedEnvelope);
        }
        resolve({ entries, complete: entries.length === bodies.length && r.stopStatus === Status.OK });
      });
    });
  }

  /**
   * Non-fencing LAC read of the last ensemble: the highest LAC any bookie reports (each is a
   * confirmed entry), once coverage is reached or every bookie answered. Undefined if none did.
   */
  readLac(meta: LedgerMeta): Promise<number | undefined> {
    const ensemble = lastSegment(meta).bookieIds;
    const op = new QuorumLacOp(ensemble, meta);
    const { transport, limits } = this.#ctx;
    return new Promise((resolve) => {
      let best: number | undefined;
      let settled = false;
      for (const bookieId of ensemble) {
        const req = { ledgerId: meta.ledgerId, previousLac: -1, longPollMs: 0 };
        transport.readLac(bookieId, req, limits.bookieRequestTimeoutMs, (r) => {
          const ok = r.status === Status.OK || r.status === Status.NO_LEDGER || r.status === Status.NO_ENTRY;
          if (ok) best = Math.max(best ?? -1, r.status === Status.OK ? r.lac : -1);
          const res = op.onReply(bookieId, ok ? { kind: 'answered', lac: r.lac } : { kind: 'error' });
          if (!settled && res.kind !== 'pending') {
            settled = true;
            resolve(best);
          }
        });
      }
    });
  }

  /**
   * Long poll: ask every bookie of the last ensemble to answer once its LAC passes `previous`.
   * Resolves with the first LAC above `previous`, or undefined when all answered without one.
   */
  waitLac(meta: LedgerMeta, previous: number, pollMs: number): Promise<number | undefined> {
    const ensemble = lastSegment(meta).bookieIds;
    const { transport, limits, env } = this.#ctx;
    return new Promise((resolve) => {
      let answered = 0;
      let settled = false;
      const settle = (v: number | undefined) => {
        if (!settled) {
          settled = true;
          timer.cancel();
          resolve(v);
        }
      };
      const timer = env.setTimer(pollMs + limits.bookieRequestTimeoutMs, () => settle(undefined));
      for (const bookieId of ensemble) {
        const req = { ledgerId: meta.ledgerId, previousLac: previous, longPollMs: pollMs };
        transport.readLac(bookieId, req, pollMs + limits.bookieRequestTimeoutMs, (r) => {
          answered++;
          if (r.status === Status.OK && r.lac > previous) settle(r.lac);
          else if (answered === ensemble.length) settle(undefined);
        });
      }
    });
  }
}
