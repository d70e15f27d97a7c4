/**
 * Garbage collection of entry logs (BookKeeper's GarbageCollectorThread, internals.md §2.4).
 * Deleted ledgers leave dead bytes in entry logs. A log with no live byte is deleted; a log whose
 * live ratio is under the minor (or, less often, major) threshold is compacted: its live entries
 * are copied into the current log, the index is repointed and made durable, then the old log is
 * deleted. Reads keep working throughout: a read that loses the race with the deletion looks
 * its slot up again.
 */
import { decodeEnvelope } from '../../../lib/ledger/envelope.ts';
import { ENTRY_LOG_HEADER_BYTES } from './entry-log.ts';
import { commitCheckpoint, publishSlot } from './checkpoint.ts';
import { encodeLedgerState, encodeSlotRun, IndexRecordType, toSlotRuns } from './index-records.ts';
import { stateOf } from './index-store.ts';
import { type LedgerRecord, PAGE_ENTRIES, type Slot, slotAt } from './ledger-record.ts';
import type { LedgerStorage } from './ledger-storage.ts';

export type GcKind = 'dead-only' | 'minor' | 'major';

export interface GcStats {
  deletedLogs: number;
  compactedLogs: number;
  reclaimedBytes: number;
  movedEntries: number;
}

const READ_WINDOW_BYTES = 4 * 1024 * 1024;

/** Live ratio of each closed log (not the one being written). */
export function logUsage(s: LedgerStorage): { logId: number; live: number; total: number }[] {
  const out = [];
  for (const logId of s.logs.ids()) {
    if (logId === s.logs.currentId) continue;
    const total = Math.max(0, s.logs.sizeOf(logId) - ENTRY_LOG_HEADER_BYTES);
    out.push({ logId, live: Math.max(0, s.logLive.get(logId) ?? 0), total });
  }
  return out;
}

export async function runGc(s: LedgerStorage, kind: GcKind): Promise<GcStats> {
  const threshold = kind === 'major' ? s.cfg.gcMajorThreshold : kind === 'minor' ? s.cfg.gcMinorThreshold : 0;
  const stats: GcStats = { deletedLogs: 0, compactedLogs: 0, reclaimedBytes: 0, movedEntries: 0 };
  for (const { logId, live, total } of logUsage(s)) {
    if (live === 0) {
      await dropLog(s, logId);
      stats.deletedLogs++;
      stats.reclaimedBytes += total;
    } else if (total > 0 && live / total < threshold) {
      const moved = await compactLog(s, logId);
      stats.compactedLogs++;
      stats.movedEntries += moved.entries;
      stats.reclaimedBytes += total - moved.bytes;
    }
  }
  return stats;
}

async function dropLog(s: LedgerStorage, logId: number): Promise<void> {
  await s.logs.delete(logId);
  s.logLive.delete(logId);
  for (const rec of s.ledgers.values()) rec.bytesPerLog.delete(logId);
}

interface Move {
  readonly rec: LedgerRecord;
  readonly entryId: number;
  readonly from: Slot;
  to?: Slot;
}

/** Copy the live entries of `logId` into the current log, repoint the index, delete the log. */
async function compactLog(s: LedgerStorage, logId: number): Promise<{ entries: number; bytes: number }> {
  const moves: Move[] = [];
  for (const rec of [...s.ledgers.values()]) {
    if (!rec.bytesPerLog.has(logId)) continue;
    for (const pageNo of rec.pageNumbers()) {
      const page = await s.index.readPage(rec, pageNo);
      if (!page) continue;
      for (let i = 0; i < PAGE_ENTRIES; i++) {
        const slot = slotAt(page, i);
        if (slot?.logId === logId) moves.push({ rec, entryId: pageNo * PAGE_ENTRIES + i, from: slot });
      }
    }
  }
  moves.sort((a, b) => a.from.offset - b.from.offset);
  let bytes = 0;
  for (let i = 0; i < moves.length; ) {
    // Read a window of neighbouring entries at once.
    const start = moves[i].from.offset;
    let j = i;
    while (j < moves.length && moves[j].from.offset + moves[j].from.length - start <= READ_WINDOW_BYTES) j++;
    if (j === i) j = i + 1;
    const end = moves[j - 1].from.offset + moves[j - 1].from.length;
    const window = await s.logs.read(logId, start, end - start);
    for (let k = i; k < j; k++) {
      const m = moves[k];
      if (s.ledgers.get(m.rec.ledgerId) !== m.rec) continue;
      const body = window?.subarray(m.from.offset - start, m.from.offset - start + m.from.length);
      const env = body ? decodeEnvelope(body) : 'missing';
      if (typeof env === 'string' || env.ledgerId !== m.rec.ledgerId || env.entryId !== m.entryId) {
        s.log.error(
          { logId, ledgerId: m.rec.ledgerId, entryId: m.entryId, problem: env },
          'corrupt entry found by compaction',
        );
        s.markLimbo(m.rec, 'corrupt entry in an entry log');
        continue;
      }
      m.to = s.logs.tryAppend(body!) ?? (await s.logs.append(body!));
      bytes += m.from.length;
    }
    i = j;
  }
  await s.logs.sync();

  const byLedger = new Map<LedgerRecord, { entryId: number; slot: Slot }[]>();
  const limbo = new Set<LedgerRecord>();
  let entries = 0;
  for (const m of moves) {
    if (m.rec.limbo) limbo.add(m.rec);
    if (!m.to || s.ledgers.get(m.rec.ledgerId) !== m.rec) continue;
    publishSlot(s, m.rec, m.entryId, m.to);
    entries++;
    let list = byLedger.get(m.rec);
    if (!list) byLedger.set(m.rec, (list = []));
    list.push({ entryId: m.entryId, slot: m.to });
  }
  const records: { type: number; payload: Buffer }[] = [];
  for (const [rec, list] of byLedger) {
    list.sort((a, b) => a.entryId - b.entryId);
    for (const run of toSlotRuns(rec.ledgerId, list)) {
      records.push({ type: IndexRecordType.SLOTS, payload: encodeSlotRun(run) });
    }
  }
  for (const rec of limbo) {
    if (s.ledgers.get(rec.ledgerId) === rec) {
      records.push({ type: IndexRecordType.LEDGER, payload: encodeLedgerState(stateOf(rec)) });
    }
  }
  await s.index.appendLog(records);
  await commitCheckpoint(s);
  await dropLog(s, logId);
  return { entries, bytes };
}
