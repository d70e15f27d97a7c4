/** Configuration, callbacks and options of the storage engine (ledger-storage.ts). */
import type { Logger } from '../../../lib/log/index.ts';
import type { BookieConfig } from '../config.ts';
import type { GroupStats } from '../journal/writer.ts';
import type { CheckpointStats } from './checkpoint.ts';
import type { GcKind, GcStats } from './gc.ts';
import type { LedgerRecord } from './ledger-record.ts';

export type StorageConfig = Pick<
  BookieConfig,
  | 'journalGroupWaitMs'
  | 'journalGroupMaxBytes'
  | 'journalFlushWhenIdle'
  | 'journalMaxSyncsInFlight'
  | 'journalBlockingWrites'
  | 'journalFileBytes'
  | 'journalRecycledFiles'
  | 'maxEntryBytes'
  | 'writeCacheMaxBytes'
  | 'readCacheMaxBytes'
  | 'readAheadEntries'
  | 'readAheadMaxBytes'
  | 'checkpointIntervalMs'
  | 'entryLogMaxBytes'
  | 'entryLogDropPageCache'
  | 'entryLogSyncBytes'
  | 'indexLogMaxBytes'
  | 'gcIntervalMs'
  | 'gcMinorThreshold'
  | 'gcMinorIntervalMs'
  | 'gcMajorThreshold'
  | 'gcMajorIntervalMs'
>;

export interface StorageHooks {
  onJournalGroup?(stats: GroupStats): void;
  onCheckpoint?(stats: CheckpointStats): void;
  onGc?(kind: GcKind, stats: GcStats): void;
  /** A ledger's LAC advanced (long polls wait for this). */
  onLacAdvanced?(rec: LedgerRecord): void;
  onLedgerDeleted?(ledgerId: number): void;
  /** Where a read was served from. */
  onReadSource?(source: 'write-cache' | 'read-cache' | 'entry-log'): void;
  /** Storage cannot continue (journal or maintenance I/O failed). */
  onFatal(err: Error): void;
}

export interface StorageOptions {
  readonly journalDir: string;
  readonly ledgerDir: string;
  readonly cfg: StorageConfig;
  readonly log: Logger;
  readonly hooks: StorageHooks;
  /**
   * The ledger id allocator's counter, read now (registration/ledger-id-watermark.ts): scopes a
   * limbo entered at runtime to the ledgers that existed. Absent: the limbo covers every ledger.
   */
  readonly ledgerIdWatermark?: () => Promise<number | undefined>;
  /**
   * Whether a ledger's metadata is OPEN now (registration/ledger-id-watermark.ts): an OPEN ledger
   * was never fenced, so limbo need not refuse its normal adds. Absent: limbo always refuses them.
   */
  readonly ledgerOpenInMetadata?: (ledgerId: number) => Promise<boolean>;
}
