/**
 * Read path: write cache -> write cache being flushed -> read cache -> index -> entry log, with
 * read-ahead of the ledger's following entries when they lie next to each other in the same
 * log. Every entry read from disk is verified (envelope crc32c and its ids) before it is served
 * or cached; a bad one puts its ledger in limbo and is answered "unknown", never "no entry".
 *
 * When is "no entry" safe? Only when this bookie cannot have acknowledged the entry: the ledger
 * is not in limbo (no data loss known for it), the bookie-wide limbo marker is absent, and
 * neither the caches nor the index hold it. Acknowledged entries survive restarts through the
 * journal, so under those conditions absence is real.
 */
import { decodeEnvelope } from '../../../lib/ledger/envelope.ts';
import { type LedgerRecord, PAGE_ENTRIES, type Slot, slotAt } from './ledger-record.ts';
import type { LedgerStorage } from './ledger-storage.ts';
import { limboCovers } from './limbo.ts';

export type ReadOutcome =
  | { readonly status: 'ok'; readonly rec: LedgerRecord; readonly entryId: number; readonly body: Buffer }
  | {
      readonly status: 'no-ledger' | 'no-entry' | 'unknown';
      readonly rec?: LedgerRecord;
      readonly why?: string;
    };

const MAX_RELOOKUPS = 3;

/** A ledger this bookie has no record of: unknown if the bookie-wide limbo covers it. */
export function missingLedger(s: LedgerStorage, ledgerId: number): ReadOutcome {
  return s.limboMarker && limboCovers(s.limboMarker, ledgerId)
    ? { status: 'unknown', why: `bookie-wide limbo: ${s.limboMarker.reason}` }
    : { status: 'no-ledger' };
}

function missingEntry(rec: LedgerRecord): ReadOutcome {
  return rec.limbo ? { status: 'unknown', rec, why: 'ledger in limbo' } : { status: 'no-entry', rec };
}

/** Read one entry; `entryId` -1 reads the last entry this bookie holds. */
export async function readEntry(s: LedgerStorage, ledgerId: number, entryId: number): Promise<ReadOutcome> {
  const rec = s.ledgers.get(ledgerId);
  if (!rec) return missingLedger(s, ledgerId);
  const id = entryId === -1 ? rec.lastEntryId : entryId;
  if (id < 0) return missingEntry(rec);
  const fresh = s.active.get(ledgerId, id) ?? s.flushing?.get(ledgerId, id);
  if (fresh) {
    s.hooks.onReadSource?.('write-cache');
    // A copy: write-cache memory is reused once a checkpoint has written it out.
    return { status: 'ok', rec, entryId: id, body: Buffer.from(fresh) };
  }
  const cached = s.readCache.get(ledgerId, id);
  if (cached) {
    s.hooks.onReadSource?.('read-cache');
    return { status: 'ok', rec, entryId: id, body: cached };
  }
  for (let attempt = 0; attempt < MAX_RELOOKUPS; attempt++) {
    const slot = await s.index.readSlot(rec, id);
    if (!slot) {
      // Checkpoints publish into the index before they drop the flushed cache, so an entry is
      // always in one of them; a newer add may have reached the active cache meanwhile.
      const late = s.active.get(ledgerId, id) ?? s.flushing?.get(ledgerId, id);
      if (late) return { status: 'ok', rec, entryId: id, body: Buffer.from(late) };
      return s.ledgers.get(ledgerId) === rec ? missingEntry(rec) : missingLedger(s, ledgerId);
    }
    s.hooks.onReadSource?.('entry-log');
    const got = await loadFromLog(s, rec, id, slot);
    if (got === 'corrupt') return { status: 'unknown', rec, why: 'stored entry failed its checksum' };
    if (got) return { status: 'ok', rec, entryId: id, body: got };
    // The log went away under us (compaction moved the entry): look the slot up again.
    if (s.ledgers.get(ledgerId) !== rec) return missingLedger(s, ledgerId);
  }
  s.markLimbo(rec, 'entry log of an indexed entry is missing');
  return { status: 'unknown', rec, why: 'indexed entry not found in its entry log' };
}

/** Slots of `first`, `first+1`, ... while they are present (reads each index page once). */
async function followingSlots(
  s: LedgerStorage,
  rec: LedgerRecord,
  first: number,
  max: number,
): Promise<Slot[]> {
  const out: Slot[] = [];
  let page: Buffer | undefined;
  let pageNo = -1;
  for (let e = first; out.length < max; e++) {
    const p = Math.floor(e / PAGE_ENTRIES);
    if (p !== pageNo) {
      pageNo = p;
      page = await s.index.readPage(rec, p);
    }
    const slot = page ? slotAt(page, e % PAGE_ENTRIES) : undefined;
    if (!slot) break;
    out.push(slot);
  }
  return out;
}

/** Read an entry (and its contiguous followers) from its entry log; verify; fill the read cache. */
async function loadFromLog(
  s: LedgerStorage,
  rec: LedgerRecord,
  entryId: number,
  slot: Slot,
): Promise<Buffer | 'corrupt' | undefined> {
  const run: Slot[] = [slot];
  if (s.cfg.readAheadEntries > 0 && s.cfg.readCacheMaxBytes > 0) {
    let bytes = slot.length;
    for (const next of await followingSlots(s, rec, entryId + 1, s.cfg.readAheadEntries)) {
      const prev = run[run.length - 1];
      if (next.logId !== slot.logId || next.offset !== prev.offset + prev.length + 4) break;
      if (bytes + next.length > s.cfg.readAheadMaxBytes) break;
      bytes += next.length;
      run.push(next);
    }
  }
  const last = run[run.length - 1];
  const buf = await s.logs.read(slot.logId, slot.offset, last.offset + last.length - slot.offset);
  if (!buf) return undefined;
  let wanted: Buffer | 'corrupt' = 'corrupt';
  for (let i = 0; i < run.length; i++) {
    const body = buf.subarray(run[i].offset - slot.offset, run[i].offset - slot.offset + run[i].length);
    const id = entryId + i;
    const env = decodeEnvelope(body);
    const ok = typeof env !== 'string' && env.ledgerId === rec.ledgerId && env.entryId === id;
    if (!ok) {
      s.log.error(
        { ledgerId: rec.ledgerId, entryId: id, slot: run[i], problem: env },
        'stored entry is corrupt',
      );
      s.markLimbo(rec, 'stored entry failed its checksum');
      if (i === 0) return 'corrupt';
      break;
    }
    if (i === 0) wanted = body;
    s.readCache.put(rec.ledgerId, id, body);
  }
  return wanted;
}

export interface RangeOutcome {
  readonly bodies: Buffer[];
  /** Why the range stopped before its bounds (undefined: stopped at a bound). */
  readonly stop?: ReadOutcome;
  readonly rec?: LedgerRecord;
}

/**
 * Which entries a striped range selects: e >= first with (e - first + position) mod period < run
 * (the runs a bookie holds in a round-robin ensemble; bookie.proto ReadRangeRequest).
 */
export interface RangeStride {
  readonly period: number;
  readonly run: number;
  /** Position of `first` in its run (< run). */
  readonly position: number;
}

/** The entry selected after `e` (a selected entry) by the stride; e + 1 without one. */
function nextSelected(e: number, first: number, stride: RangeStride | undefined): number {
  if (!stride) return e + 1;
  const pos = (e - first + stride.position) % stride.period;
  return pos + 1 < stride.run ? e + 1 : e + stride.period - pos;
}

/**
 * Entries first.. in order (every entry, or those `stride` selects) until a selected one is
 * missing or a bound is reached. A missing selected entry ends the range with its reason: the
 * range never skips an entry it was asked for.
 */
export async function readRange(
  s: LedgerStorage,
  ledgerId: number,
  first: number,
  maxEntries: number,
  maxBytes: number,
  stride?: RangeStride,
): Promise<RangeOutcome> {
  const bodies: Buffer[] = [];
  let bytes = 0;
  let rec = s.ledgers.get(ledgerId);
  for (
    let e = first;
    bodies.length < maxEntries && e <= Number.MAX_SAFE_INTEGER;
    e = nextSelected(e, first, stride)
  ) {
    const r = await readEntry(s, ledgerId, e);
    if (r.status !== 'ok') return { bodies, stop: r, rec: r.rec ?? rec };
    rec = r.rec;
    if (bodies.length > 0 && bytes + r.body.length > maxBytes) break;
    bodies.push(r.body);
    bytes += r.body.length;
  }
  return { bodies, rec };
}

/** The entry ids this bookie holds for a ledger, as sorted inclusive ranges. */
export async function listEntries(s: LedgerStorage, rec: LedgerRecord): Promise<[number, number][]> {
  const ids = new Set<number>();
  for (const cache of [s.active, s.flushing])
    for (const id of cache?.entryIds(rec.ledgerId) ?? []) ids.add(id);
  for (const pageNo of rec.pageNumbers()) {
    const page = await s.index.readPage(rec, pageNo);
    if (!page) continue;
    for (let i = 0; i < PAGE_ENTRIES; i++) if (slotAt(page, i)) ids.add(pageNo * PAGE_ENTRIES + i);
  }
  const sorted = [...ids].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const id of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] === id - 1) last[1] = id;
    else ranges.push([id, id]);
  }
  return ranges;
}
