/** Storage events -> metrics and long polls. */
import type { BookieMetrics } from './metrics.ts';
import type { LacWaiters } from './server/long-poll.ts';
import type { StorageHooks } from './storage/ledger-storage.ts';

export function storageHooks(
  m: BookieMetrics,
  waiters: LacWaiters,
  onFatal: (err: Error) => void,
): StorageHooks {
  const hits = { 'write-cache': m.cacheHits.labels('write'), 'read-cache': m.cacheHits.labels('read') };
  return {
    onJournalGroup: (g) => {
      m.journalFsync.observe(g.syncMs / 1000);
      m.journalWrite.observe(g.writeMs / 1000);
      m.journalGroupFrames.observe(g.frames);
      m.journalGroupBytes.observe(g.bytes);
    },
    onCheckpoint: (c) => {
      m.checkpointLatency.observe(c.ms / 1000);
      m.checkpointEntries.inc(c.entries);
    },
    onGc: (_kind, g) => {
      m.gcReclaimedBytes.inc(g.reclaimedBytes);
      if (g.deletedLogs > 0) m.gcLogs.inc({ action: 'deleted' }, g.deletedLogs);
      if (g.compactedLogs > 0) m.gcLogs.inc({ action: 'compacted' }, g.compactedLogs);
    },
    onLacAdvanced: (rec) => waiters.advanced(rec.ledgerId, rec.lac),
    onLedgerDeleted: (id) => waiters.deleted(id),
    onReadSource: (source) => {
      if (source === 'entry-log') m.cacheMisses.inc();
      else hits[source].inc();
    },
    onFatal,
  };
}
