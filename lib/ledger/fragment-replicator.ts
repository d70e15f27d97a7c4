/**
 * Copying one fragment's entries to a replacement bookie (internals.md §3, BookKeeper's
 * LedgerFragmentReplicator), for autorecovery. The caller (the coordinator's re-replication
 * worker) decides WHICH fragment and WHICH bookie, and CASes the ledger metadata afterwards; this
 * file only moves bytes, over the same BookieTransport the client uses:
 *
 * - The entries copied are those of [firstEntryId, lastEntryId] whose write set includes the
 *   replaced ensemble index (every entry when E = Qw). Only sealed ranges may be copied: a closed
 *   ledger, or a fragment followed by another (its entries are all confirmed).
 * - Each entry is read from a surviving member of its write set (ReadRange when E = Qw, so one
 *   bookie streams the whole range; ReadEntry otherwise), its envelope verified (digest, ledger
 *   and entry ids), then added to the target with the recovery flag and the ledger's master key.
 *   The body is stored unchanged, so the copy is byte-identical to the original.
 * - An entry no survivor can produce fails the copy with READ_FAILED (never skipped): a gap would
 *   turn a loss into silence.
 * - Bounded: one batch of at most `batchEntries` entries / `batchBytes` bytes is read while the
 *   previous batch's adds are in flight; every request has a deadline.
 */
import { Status } from '../gen/magnetar/bookie/v1/bookie_pb.ts';
import type { BookieTransport, ReplyStatus } from './driver/transport.ts';
import { statusName } from './driver/transport.ts';
import { readEnvelopeHeader, verifyEnvelope } from './envelope.ts';
import { ledgerError } from './errors.ts';
import { type Quorum, writeSetIndexes } from './protocol/distribution.ts';

export interface FragmentToCopy {
  readonly ledgerId: number;
  readonly masterKey: Uint8Array;
  readonly quorum: Quorum;
  /** The fragment's ensemble as the metadata names it (the replaced bookie included). */
  readonly ensemble: readonly string[];
  readonly firstEntryId: number;
  /** Inclusive; below firstEntryId means the fragment holds nothing. */
  readonly lastEntryId: number;
  /** Ensemble index whose copies are missing. */
  readonly replaceIndex: number;
  /** Bookie receiving the copies. */
  readonly target: string;
  /** Bookies not to read from (lost ones). */
  readonly unavailable?: ReadonlySet<string>;
  /**
   * The replaced bookie is alive and may be read from (a decommissioned bookie being drained);
   * false when it is lost.
   */
  readonly readFromReplaced?: boolean;
}

export interface CopyOptions {
  readonly batchEntries: number;
  readonly batchBytes: number;
  readonly requestTimeoutMs: number;
  /** Called after each batch is durable on the target. */
  readonly onProgress?: (entries: number, bytes: number) => void;
}

export interface CopyResult {
  readonly entries: number;
  readonly bytes: number;
}

/** The entry ids of the fragment that the replaced index holds. */
export function entriesOnIndex(
  f: Pick<FragmentToCopy, 'quorum' | 'firstEntryId' | 'lastEntryId' | 'replaceIndex'>,
  from: number,
  max: number,
): number[] {
  const out: number[] = [];
  for (let e = from; e <= f.lastEntryId && out.length < max; e++) {
    if (writeSetIndexes(e, f.quorum).includes(f.replaceIndex)) out.push(e);
  }
  return out;
}

export async function copyFragment(
  transport: BookieTransport,
  f: FragmentToCopy,
  opts: CopyOptions,
): Promise<CopyResult> {
  let entries = 0;
  let bytes = 0;
  let next = f.firstEntryId;
  let inFlight: Promise<void> | undefined;
  while (next <= f.lastEntryId) {
    const ids = entriesOnIndex(f, next, opts.batchEntries);
    if (ids.length === 0) break;
    const bodies = await readBatch(transport, f, ids, opts);
    next = ids[bodies.length - 1] + 1;
    // Wait for the previous batch to be durable before queueing another (two batches at most).
    if (inFlight) await inFlight;
    const batchIds = ids.slice(0, bodies.length);
    const batchBytes = bodies.reduce((n, b) => n + b.byteLength, 0);
    inFlight = writeBatch(transport, f, batchIds, bodies, opts).then(() => {
      entries += batchIds.length;
      bytes += batchBytes;
      opts.onProgress?.(entries, bytes);
    });
  }
  if (inFlight) await inFlight;
  return { entries, bytes };
}

/** Read up to ids.length bodies (a prefix of ids, at least one), verified. */
async function readBatch(
  transport: BookieTransport,
  f: FragmentToCopy,
  ids: number[],
  opts: CopyOptions,
): Promise<Uint8Array[]> {
  const survivors = (e: number) =>
    writeSetIndexes(e, f.quorum)
      .filter((i) => i !== f.replaceIndex || f.readFromReplaced === true)
      .sort((x, y) => (x === f.replaceIndex ? 1 : 0) - (y === f.replaceIndex ? 1 : 0))
      .map((i) => f.ensemble[i])
      .filter((b) => !f.unavailable?.has(b));
  if (f.quorum.ensembleSize === f.quorum.writeQuorum) {
    // Every surviving bookie holds the whole range: stream it from one, falling back to the others.
    const sources = survivors(ids[0]);
    const reasons: string[] = [];
    for (let k = 0; k < sources.length; k++) {
      const source = sources[(ids[0] + k) % sources.length];
      const r = await rangeFrom(transport, source, f, ids[0], ids.length, opts);
      const good: Uint8Array[] = [];
      for (let j = 0; j < r.bodies.length && checkBody(r.bodies[j], f.ledgerId, ids[j]) === undefined; j++)
        good.push(r.bodies[j]);
      if (good.length > 0) return good;
      reasons.push(`${source}: ${statusName(r.status)}`);
    }
    throw ledgerError('READ_FAILED', {
      ledgerId: f.ledgerId,
      entryId: ids[0],
      reason: reasons.join(', ') || 'no surviving bookie',
    });
  }
  const out: Uint8Array[] = [];
  let total = 0;
  for (const e of ids) {
    if (out.length > 0 && total >= opts.batchBytes) break;
    const body = await entryFromAny(transport, survivors(e), f, e, opts);
    out.push(body);
    total += body.byteLength;
  }
  return out;
}

function checkBody(body: Uint8Array, ledgerId: number, entryId: number): string | undefined {
  const problem = verifyEnvelope(body);
  if (problem) return problem;
  const h = readEnvelopeHeader(body)!;
  return h.ledgerId === ledgerId && h.entryId === entryId
    ? undefined
    : `envelope names ${h.ledgerId}/${h.entryId}`;
}

function rangeFrom(
  transport: BookieTransport,
  bookie: string,
  f: FragmentToCopy,
  first: number,
  maxEntries: number,
  opts: CopyOptions,
): Promise<{ status: ReplyStatus; bodies: readonly Uint8Array[] }> {
  return new Promise((resolve) =>
    transport.readRange(
      bookie,
      { ledgerId: f.ledgerId, firstEntryId: first, maxEntries, maxBytes: opts.batchBytes },
      opts.requestTimeoutMs,
      (r) => resolve({ status: r.status, bodies: r.bodies }),
    ),
  );
}

async function entryFromAny(
  transport: BookieTransport,
  sources: string[],
  f: FragmentToCopy,
  e: number,
  opts: CopyOptions,
): Promise<Uint8Array> {
  const reasons: string[] = [];
  for (const bookie of sources) {
    const r = await new Promise<{ status: ReplyStatus; body?: Uint8Array }>((resolve) =>
      transport.readEntry(
        bookie,
        { ledgerId: f.ledgerId, entryId: e, fence: false, masterKey: f.masterKey },
        opts.requestTimeoutMs,
        resolve,
      ),
    );
    if (r.status === Status.OK && r.body) {
      const problem = checkBody(r.body, f.ledgerId, e);
      if (!problem) return r.body;
      reasons.push(`${bookie}: ${problem}`);
    } else reasons.push(`${bookie}: ${statusName(r.status)}`);
  }
  throw ledgerError('READ_FAILED', {
    ledgerId: f.ledgerId,
    entryId: e,
    reason: reasons.join(', ') || 'no surviving bookie',
  });
}

/** Add every body to the target (recovery adds); resolves once all are durable there. */
function writeBatch(
  transport: BookieTransport,
  f: FragmentToCopy,
  ids: number[],
  bodies: Uint8Array[],
  opts: CopyOptions,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = ids.length;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    // Adds carry no deadline in the transport: the batch has one.
    const timer = setTimeout(
      () =>
        finish(
          ledgerError('TIMEOUT', {
            operation: `copy to ${f.target}`,
            ledgerId: f.ledgerId,
            timeoutMs: opts.requestTimeoutMs,
          }),
        ),
      opts.requestTimeoutMs,
    );
    ids.forEach((entryId, i) => {
      transport.add(
        f.target,
        { ledgerId: f.ledgerId, entryId, masterKey: f.masterKey, body: bodies[i], recovery: true },
        (status) => {
          if (status !== Status.OK) {
            finish(
              ledgerError('ADD_FAILED', {
                ledgerId: f.ledgerId,
                bookieId: f.target,
                status: statusName(status),
              }),
            );
          } else if (--left === 0) finish();
        },
      );
    });
  });
}
