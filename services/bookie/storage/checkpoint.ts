/**
 * Checkpoint: write the write cache out to entry logs, publish the new slots in the index, make
 * the index change durable, then record in the CHECKPOINT file that journal replay may start at
 * the journal position the cache was swapped at. Only then may older journal files go.
 *
 * Order (each step durable before the next): entry logs fdatasync -> index change log fdatasync
 * -> CHECKPOINT rename + dir fsync -> journal files retired. A crash anywhere replays the journal
 * from the previous mark; entry-log bytes written by the unfinished checkpoint become garbage.
 */
import type { JournalMark } from '../journal/writer.ts';
import { retireJournalFiles } from '../journal/files.ts';
import { writeCheckpoint } from './checkpoint-file.ts';
import { stateOf } from './index-store.ts';
import {
  type CheckpointState,
  encodeLedgerId,
  encodeLedgerState,
  encodeSlotRun,
  IndexRecordType,
  toSlotRuns,
} from './index-records.ts';
import type { LedgerRecord, Slot } from './ledger-record.ts';
import type { LedgerStorage } from './ledger-storage.ts';
import { WriteCache } from './write-cache.ts';

/**
 * A checkpoint may cover the whole write cache (100k+ entries): its in-memory steps yield to
 * the event loop this often, so adds and reads are not held up for tens of milliseconds.
 */
const YIELD_EVERY_ENTRIES = 2048;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
/** True on every `n`th call. */
const everyNth = (n: number) => {
  let calls = 0;
  return () => ++calls % n === 0;
};

export interface CheckpointStats {
  readonly entries: number;
  readonly bytes: number;
  readonly ms: number;
}

export async function runCheckpoint(s: LedgerStorage, markOverride?: JournalMark): Promise<CheckpointStats> {
  const t0 = performance.now();
  const mark = markOverride ?? s.journal.durableMark;
  const cache = s.active;
  s.active = new WriteCache(s.slabMemory);
  s.flushing = cache;
  const states = [];
  for (const rec of s.ledgers.values()) {
    if (!rec.dirty) continue;
    rec.dirty = false;
    states.push(stateOf(rec));
  }
  const deletes = s.pendingDeletes.splice(0);

  // Per ledger, entry ids and their new slots as flat arrays: an object per entry would live
  // through the whole checkpoint and be promoted by the young-generation GC (see write-cache.ts).
  const written: { rec: LedgerRecord; entryIds: Float64Array; slots: Uint32Array }[] = [];
  let entries = 0;
  let bytes = 0;
  for (const led of cache.sorted()) {
    const rec = s.ledgers.get(led.ledgerId);
    if (!rec) continue;
    const entryIds = new Float64Array(led.count);
    const slots = new Uint32Array(3 * led.count);
    let n = 0;
    for (; n < led.count; n++) {
      const body = led.body(n);
      if (!body) break; // deleted meanwhile
      const slot = s.logs.tryAppend(body) ?? (await s.logs.append(body));
      entryIds[n] = led.entryId(n);
      slots[3 * n] = slot.logId;
      slots[3 * n + 1] = slot.offset;
      slots[3 * n + 2] = slot.length;
      bytes += body.length;
    }
    entries += n;
    written.push({ rec, entryIds: entryIds.subarray(0, n), slots });
  }
  await s.logs.sync();

  const records: { type: number; payload: Buffer }[] = deletes.map((id) => ({
    type: IndexRecordType.DELETE,
    payload: encodeLedgerId(id),
  }));
  for (const st of states) records.push({ type: IndexRecordType.LEDGER, payload: encodeLedgerState(st) });
  const yieldDue = everyNth(YIELD_EVERY_ENTRIES);
  for (const { rec, entryIds, slots } of written) {
    let live = s.ledgers.get(rec.ledgerId) === rec; // false: deleted while being written
    const slotAt = (i: number): Slot => ({
      logId: slots[3 * i],
      offset: slots[3 * i + 1],
      length: slots[3 * i + 2],
    });
    for (let i = 0; i < entryIds.length && live; i++) {
      publishSlot(s, rec, entryIds[i], slotAt(i));
      if (yieldDue()) {
        await yieldToEventLoop(); // unpublished entries stay readable in s.flushing
        live = s.ledgers.get(rec.ledgerId) === rec; // only a yield lets a delete in
      }
    }
    if (!live) continue; // its DELETE follows the mark in the journal
    const items = Array.from(entryIds, (entryId, i) => ({ entryId, slot: slotAt(i) }));
    for (const run of toSlotRuns(rec.ledgerId, items)) {
      records.push({ type: IndexRecordType.SLOTS, payload: encodeSlotRun(run) });
    }
  }
  // Reads now find these entries through the index: the flushed cache (and its memory) can go.
  s.flushing = undefined;
  cache.releaseAll();
  s.notifyRoom();

  await s.index.appendLog(records);
  await commitCheckpoint(s, { journalFileId: mark.fileId, journalOffset: mark.offset });
  await retireJournalFiles(s.journalDir, mark.fileId, s.recycled, s.cfg.journalRecycledFiles);
  if (s.index.logBytes > s.cfg.indexLogMaxBytes) await runIndexSnapshot(s);
  return { entries, bytes, ms: performance.now() - t0 };
}

/** Point an entry at a new slot, keeping the per-log live byte counts. */
export function publishSlot(s: LedgerStorage, rec: LedgerRecord, entryId: number, slot: Slot): void {
  const prev = rec.setSlot(entryId, slot);
  if (prev) {
    rec.addLogBytes(prev.logId, -prev.length);
    s.logLive.set(prev.logId, (s.logLive.get(prev.logId) ?? 0) - prev.length);
  }
  rec.addLogBytes(slot.logId, slot.length);
  s.logLive.set(slot.logId, (s.logLive.get(slot.logId) ?? 0) + slot.length);
}

/** Write the CHECKPOINT file with the index's current generation and log length. */
export async function commitCheckpoint(
  s: LedgerStorage,
  mark?: { journalFileId: number; journalOffset: number },
): Promise<void> {
  const cp: CheckpointState = {
    version: 1,
    journalFileId: mark?.journalFileId ?? s.lastCheckpoint.journalFileId,
    journalOffset: mark?.journalOffset ?? s.lastCheckpoint.journalOffset,
    indexGen: s.index.gen,
    hasSnapshot: s.index.hasSnapshot,
    indexLogBytes: s.index.logBytes,
  };
  await writeCheckpoint(s.ledgerDir, cp);
  s.lastCheckpoint = cp;
}

/** Merge the index change log into a new snapshot generation. */
export async function runIndexSnapshot(s: LedgerStorage): Promise<void> {
  const recs = [...s.ledgers.values()].sort((a, b) => a.ledgerId - b.ledgerId);
  const pages = await s.index.writeSnapshot(recs);
  const cp: CheckpointState = {
    ...s.lastCheckpoint,
    indexGen: s.index.gen + 1,
    hasSnapshot: true,
    indexLogBytes: 0,
  };
  await writeCheckpoint(s.ledgerDir, cp);
  s.lastCheckpoint = cp;
  s.log.info({ gen: s.index.gen + 1, ledgers: recs.length }, 'index snapshot written');
  await s.index.switchToNext(() => {
    for (const [rec, offsets] of pages) {
      if (s.ledgers.get(rec.ledgerId) !== rec) continue;
      rec.snapPages = offsets;
      rec.delta.clear();
    }
  });
}
