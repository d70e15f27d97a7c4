/**
 * Reading stored entries back: routing facts for dispatch, and time-based search over a managed
 * ledger (seek by publish time, expiry) by binary search on the global entry order.
 */
import { keySharedSlot } from '../../../lib/wire/hash.ts';
import {
  decodeMetadata,
  type EntryFacts,
  entryFacts,
  isMetadataProblem,
} from '../../../lib/wire/metadata.ts';
import { isPayloadProblem, splitEntry } from '../../../lib/wire/payload.ts';
import type { ManagedLedger, Position } from '../managed-ledger/api.ts';
import type { EntryMeta } from '../subscriptions/types.ts';

/** Slot of messages without a key (Pulsar hashes the placeholder key "NONE_KEY"). */
export const NONE_KEY_SLOT = keySharedSlot(Buffer.from('NONE_KEY'));

export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Facts of a stored entry; undefined when it cannot be parsed (never stored by this broker). */
export function factsOf(data: Uint8Array): EntryFacts | undefined {
  const parts = splitEntry(asBuffer(data));
  if (isPayloadProblem(parts)) return undefined;
  const md = decodeMetadata(parts.metadata);
  return isMetadataProblem(md) ? undefined : entryFacts(md);
}

export function slotOf(facts: EntryFacts | undefined): number {
  return facts?.stickyKey ? keySharedSlot(facts.stickyKey) : NONE_KEY_SLOT;
}

export function entryMeta(position: Position, facts: EntryFacts | undefined): EntryMeta {
  return {
    position,
    numMessages: facts?.numMessages ?? 1,
    slot: slotOf(facts),
    deliverAtMs: facts?.deliverAtMs,
  };
}

/** Global index ↔ position over the ledgers that still hold entries. */
function indexer(ml: ManagedLedger): { count: number; at(i: number): Position } {
  const spans = ml.ledgers
    .filter((l) => l.entries > 0)
    .map((l) => ({ ledgerId: l.ledgerId, entries: l.entries }));
  const count = spans.reduce((n, s) => n + s.entries, 0);
  return {
    count,
    at(i: number): Position {
      let rest = i;
      for (const s of spans) {
        if (rest < s.entries) return { ledgerId: s.ledgerId, entryId: rest };
        rest -= s.entries;
      }
      throw new Error(`entry index ${i} out of range ${count}`);
    },
  };
}

/**
 * The first stored entry whose publish time is ≥ `timeMs`, assuming publish times grow with
 * position (true per producer; close enough across producers, as in Pulsar). Undefined when
 * every entry is older.
 */
export async function firstPublishedAtOrAfter(
  ml: ManagedLedger,
  timeMs: number,
): Promise<Position | undefined> {
  const idx = indexer(ml);
  let lo = 0;
  let hi = idx.count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const p = idx.at(mid);
    const [entry] = await ml.readEntries(p, { maxEntries: 1 });
    const t = entry ? (factsOf(entry.data)?.publishTimeMs ?? 0) : 0;
    if (t >= timeMs) hi = mid;
    else lo = mid + 1;
  }
  return lo < idx.count ? idx.at(lo) : undefined;
}

/** The position just before `p` (entry −1 of a ledger means "before its first entry"). */
export function previousPosition(p: Position): Position {
  return { ledgerId: p.ledgerId, entryId: p.entryId - 1 };
}

/** The last stored entry (skipping empty ledgers), or undefined for an empty topic. */
export function lastStoredPosition(ml: ManagedLedger): Position | undefined {
  const last = ml.lastConfirmedPosition;
  if (last.entryId >= 0) return last;
  const ledgers = ml.ledgers.filter((l) => l.entries > 0);
  const tail = ledgers[ledgers.length - 1];
  return tail ? { ledgerId: tail.ledgerId, entryId: tail.entries - 1 } : undefined;
}
