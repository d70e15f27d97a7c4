/**
 * Shared set-up for unit tests of the bookie's storage engine on real files: small, fast settings
 * with maintenance timers effectively off (tests trigger checkpoints and GC themselves), and fresh
 * journal/ledger directories.
 */
import { join } from 'node:path';
import { tempDir } from '../../../test/harness/tmp.ts';
import type { StorageConfig } from '../storage/ledger-storage.ts';

export const TEST_MASTER_KEY = Buffer.from('secret');

export const testStorageConfig: StorageConfig = {
  journalGroupWaitMs: 1,
  journalGroupMaxBytes: 64 * 1024,
  journalFlushWhenIdle: true,
  journalMaxSyncsInFlight: 2,
  journalBlockingWrites: true,
  journalFileBytes: 1024 * 1024,
  journalRecycledFiles: 2,
  maxEntryBytes: 64 * 1024,
  writeCacheMaxBytes: 4 * 1024 * 1024,
  readCacheMaxBytes: 1024 * 1024,
  readAheadEntries: 10,
  readAheadMaxBytes: 64 * 1024,
  checkpointIntervalMs: 3_600_000,
  entryLogMaxBytes: 256 * 1024,
  entryLogDropPageCache: true,
  entryLogSyncBytes: 1024 * 1024,
  indexLogMaxBytes: 64 * 1024,
  gcIntervalMs: 3_600_000,
  gcMinorThreshold: 0.2,
  gcMinorIntervalMs: 3_600_000,
  gcMajorThreshold: 0.8,
  gcMajorIntervalMs: 3_600_000,
};

/** Fresh journal and ledger directories under one temp root. */
export function storageDirs(prefix: string): { journalDir: string; ledgerDir: string } {
  const root = tempDir(`${prefix}-`);
  return { journalDir: join(root, 'journal'), ledgerDir: join(root, 'ledgers') };
}
