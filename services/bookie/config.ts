/**
 * Every bookie setting, with its default, bounds and meaning (rendered into README.md by
 * `node services/bookie/main.ts --describe-config`). Sizes are bytes, times milliseconds, ratios
 * fractions of 1; the unit is part of each name.
 */
import { hostname } from 'node:os';
import { type ConfigOf, describeConfig, type LoadOptions, loadConfig } from '../../lib/config/index.ts';
import { ENVELOPE_OVERHEAD_BYTES } from '../../lib/ledger/envelope.ts';
import { BookieErrors } from './errors.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export const bookieConfigSpec = {
  bookieId: {
    type: 'string',
    default: '',
    doc: 'stable identity of this bookie (cookie, registration); empty = the host name',
  },
  clusterName: {
    type: 'string',
    default: 'standalone',
    doc: 'cluster this bookie belongs to (metadata key scope)',
  },
  bindHost: { type: 'string', default: '0.0.0.0', doc: 'address the gRPC and HTTP servers bind to' },
  grpcPort: { type: 'int', default: 3181, min: 0, max: 65535, doc: 'gRPC port (0 = pick a free one)' },
  httpPort: {
    type: 'int',
    default: 8000,
    min: 0,
    max: 65535,
    doc: 'health/metrics HTTP port (0 = pick a free one)',
  },
  advertisedHost: {
    type: 'string',
    default: '',
    doc: 'host name brokers use to reach this bookie (registration); empty = the host name',
  },
  journalDir: { type: 'string', default: 'data/bookie/journal', doc: 'write-ahead journal directory' },
  ledgerDir: {
    type: 'string',
    default: 'data/bookie/ledgers',
    doc: 'entry logs, index and checkpoint directory',
  },
  metadataUrl: {
    type: 'string',
    default: '',
    doc: 'metadata store: etcd://host:port[,host:port]/<prefix> or file:///abs/path',
  },
  registration: {
    type: 'bool',
    default: true,
    doc: 'register in the metadata store and keep the cookie there (false: standalone dirs only)',
  },
  registrationTtlMs: {
    type: 'int',
    default: 10_000,
    min: 1_000,
    max: 120_000,
    doc: 'session (lease) TTL of the registration key',
  },
  registrationWaitMs: {
    type: 'int',
    default: 30_000,
    min: 0,
    max: 600_000,
    doc: "how long to wait for a previous incarnation's registration key to expire",
  },
  dataLossRecovery: {
    type: 'bool',
    default: false,
    doc: 'start on wiped/new dirs although the metadata has a cookie: every ledger is then in limbo (unknown)',
  },
  journalGroupWaitMs: {
    type: 'int',
    default: 2,
    min: 0,
    max: 100,
    doc: 'longest an add waits for its group commit to start',
  },
  journalGroupMaxBytes: {
    type: 'int',
    default: 512 * KiB,
    min: 4 * KiB,
    max: 64 * MiB,
    doc: 'a group commit starts once this many bytes wait',
  },
  journalFlushWhenIdle: {
    type: 'bool',
    default: true,
    doc: 'start a group commit as soon as the journal disk is idle instead of waiting journalGroupWaitMs',
  },
  journalBlockingWrites: {
    type: 'bool',
    default: true,
    doc: 'write each journal group with a blocking call on the event loop (a buffered write, ~0.1 ms) instead of on the libuv thread pool: one thread round trip less per group',
  },
  journalMaxSyncsInFlight: {
    type: 'int',
    default: 2,
    min: 1,
    max: 16,
    doc: 'journal fdatasyncs in flight at once: the next group is written while earlier ones sync (1 = one group written and synced at a time)',
  },
  journalFileBytes: {
    type: 'int',
    default: 64 * MiB,
    min: 1 * MiB,
    max: 4 * GiB - 1,
    doc: 'size of each preallocated journal file',
  },
  journalRecycledFiles: {
    type: 'int',
    default: 4,
    min: 0,
    max: 64,
    doc: 'trimmed journal files kept for reuse (overwriting is faster than appending)',
  },
  maxEntryBytes: {
    type: 'int',
    default: 5 * MiB,
    min: 1 * KiB,
    max: 64 * MiB,
    doc: "largest entry payload accepted (the envelope around it adds 36 bytes); match the clients' entryBytesMax",
  },
  maxMasterKeyBytes: { type: 'int', default: 256, min: 0, max: 4096, doc: 'largest ledger master key' },
  grpcMaxMessageBytes: {
    type: 'int',
    default: 32 * MiB,
    min: 64 * KiB,
    max: 512 * MiB,
    doc: 'largest gRPC message sent or received',
  },
  grpcFlowControlWindowBytes: {
    type: 'int',
    default: 8 * MiB,
    min: 65_535,
    max: 2 ** 31 - 1,
    doc: 'HTTP/2 receive window per connection and per stream (the 64 KiB default caps a stream near 130 MB/s)',
  },
  maxEntriesPerAddMessage: {
    type: 'int',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    doc: 'most entries in one AddStream message',
  },
  maxInFlightAddBytesPerStream: {
    type: 'int',
    default: 32 * MiB,
    min: 64 * KiB,
    max: 4 * GiB,
    doc: 'an add stream stops being read while this many bytes await their fsync',
  },
  writeCacheMaxBytes: {
    type: 'int',
    default: 128 * MiB,
    min: 1 * MiB,
    max: 64 * GiB,
    doc: 'write cache bound; a checkpoint starts at half of it and adds wait when it is full',
  },
  writeCacheMaxWaitMs: {
    type: 'int',
    default: 10_000,
    min: 0,
    max: 600_000,
    doc: 'longest an add waits for write-cache room before TOO_MANY_REQUESTS',
  },
  readCacheMaxBytes: {
    type: 'int',
    default: 64 * MiB,
    min: 0,
    max: 64 * GiB,
    doc: 'read cache bound (entries read from entry logs and read ahead)',
  },
  readAheadEntries: {
    type: 'int',
    default: 100,
    min: 0,
    max: 100_000,
    doc: 'entries read ahead after a read-cache miss',
  },
  readAheadMaxBytes: {
    type: 'int',
    default: 4 * MiB,
    min: 0,
    max: 256 * MiB,
    doc: 'bytes read ahead after a read-cache miss',
  },
  checkpointIntervalMs: {
    type: 'int',
    default: 10_000,
    min: 10,
    max: 3_600_000,
    doc: 'write cache is flushed to entry logs and the journal trimmed at least this often',
  },
  entryLogMaxBytes: {
    type: 'int',
    default: 256 * MiB,
    min: 64 * KiB,
    max: 4 * GiB - 1,
    doc: 'an entry log rolls over at this size',
  },
  entryLogSyncBytes: {
    type: 'int',
    default: 1 * MiB,
    min: 64 * KiB,
    max: 1 * GiB,
    doc: 'while a checkpoint writes entry logs, it fdatasyncs after this many bytes (small: a journal fsync sharing the disk waits behind less of them)',
  },
  entryLogDropPageCache: {
    type: 'bool',
    default: true,
    doc: 'drop entry-log pages from the OS page cache once they are fsynced (appends then reuse warm pages; reads of flushed entries go to the disk or the read cache)',
  },
  indexLogMaxBytes: {
    type: 'int',
    default: 32 * MiB,
    min: 1 * KiB,
    max: 4 * GiB,
    doc: 'the index change log is merged into a new index snapshot past this size',
  },
  gcIntervalMs: {
    type: 'int',
    default: 60_000,
    min: 10,
    max: 86_400_000,
    doc: 'garbage collection: entry logs with no live entry are deleted this often',
  },
  gcMinorThreshold: {
    type: 'number',
    default: 0.2,
    min: 0,
    max: 1,
    doc: 'minor compaction rewrites entry logs whose live ratio is below this',
  },
  gcMinorIntervalMs: {
    type: 'int',
    default: 3_600_000,
    min: 10,
    max: 604_800_000,
    doc: 'minor compaction interval',
  },
  gcMajorThreshold: {
    type: 'number',
    default: 0.8,
    min: 0,
    max: 1,
    doc: 'major compaction rewrites entry logs whose live ratio is below this',
  },
  gcMajorIntervalMs: {
    type: 'int',
    default: 86_400_000,
    min: 10,
    max: 604_800_000,
    doc: 'major compaction interval',
  },
  metadataGcIntervalMs: {
    type: 'int',
    default: 600_000,
    min: 10,
    max: 86_400_000,
    doc: 'how often local ledgers are checked against the metadata store (deleted there = deleted here)',
  },
  metadataGcGraceMs: {
    type: 'int',
    default: 600_000,
    min: 0,
    max: 604_800_000,
    doc: 'a ledger this process learnt of less than this long ago is never collected by the metadata check',
  },
  metadataGcBatch: {
    type: 'int',
    default: 1000,
    min: 1,
    max: 1_000_000,
    doc: 'most ledgers looked up in the metadata store per check',
  },
  diskCheckIntervalMs: {
    type: 'int',
    default: 10_000,
    min: 10,
    max: 600_000,
    doc: 'disk usage is checked this often',
  },
  diskUsageThreshold: {
    type: 'number',
    default: 0.95,
    min: 0,
    max: 1,
    doc: 'above this usage of the journal or ledger disk the bookie turns read-only',
  },
  diskUsageLwmThreshold: {
    type: 'number',
    default: 0.9,
    min: 0,
    max: 1,
    doc: 'a read-only bookie turns writable again below this usage',
  },
  diskUsageProbeFile: {
    type: 'string',
    default: '',
    doc: 'read the disk usage ratio from this file instead of statfs (tests, drills)',
  },
  maxLongPolls: {
    type: 'int',
    default: 10_000,
    min: 0,
    max: 1_000_000,
    doc: 'most ReadLac long polls held at once',
  },
  maxLongPollMs: { type: 'int', default: 60_000, min: 0, max: 600_000, doc: 'longest a long poll is held' },
  maxReadRangeEntries: {
    type: 'int',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    doc: 'most entries one ReadRange returns',
  },
  maxListLedgers: {
    type: 'int',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    doc: 'most ledger ids one ListLedgers returns',
  },
  shutdownGraceMs: {
    type: 'int',
    default: 5_000,
    min: 0,
    max: 120_000,
    doc: 'on SIGTERM, calls in flight get this long to finish',
  },
  logLevel: {
    type: 'string',
    default: 'info',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    doc: 'log level',
  },
} as const;

export type BookieConfig = ConfigOf<typeof bookieConfigSpec>;

/** Frame overhead the journal and entry log add around an envelope (see journal/frame.ts). */
const FRAME_SLACK_BYTES = 64;

/** Load and cross-check the configuration (flags > env > file > base > defaults). */
export function loadBookieConfig(opts: LoadOptions = {}): BookieConfig {
  const cfg = loadConfig('bookie', bookieConfigSpec, opts);
  return checkBookieConfig(cfg);
}

/** Fill derived defaults and reject combinations the bounds alone cannot express. */
export function checkBookieConfig(cfg: BookieConfig): BookieConfig {
  const bad = (why: string) => BookieErrors.make('BOOKIE_CONFIG_INVALID', { why });
  if (cfg.bookieId === '') cfg.bookieId = hostname();
  if (!/^[A-Za-z0-9._:-]{1,200}$/.test(cfg.bookieId))
    throw bad(`bookieId "${cfg.bookieId}" must be 1-200 of [A-Za-z0-9._:-]`);
  if (cfg.advertisedHost === '') cfg.advertisedHost = hostname();
  if (cfg.diskUsageLwmThreshold > cfg.diskUsageThreshold)
    throw bad('diskUsageLwmThreshold must not exceed diskUsageThreshold');
  const maxFrame = cfg.maxEntryBytes + ENVELOPE_OVERHEAD_BYTES + FRAME_SLACK_BYTES;
  if (cfg.journalFileBytes < 2 * maxFrame + cfg.journalGroupMaxBytes)
    throw bad('journalFileBytes must hold at least 2 max-size entries plus one group (journalGroupMaxBytes)');
  if (cfg.entryLogMaxBytes < maxFrame) throw bad('entryLogMaxBytes must hold one max-size entry');
  if (cfg.grpcMaxMessageBytes < maxFrame + cfg.maxMasterKeyBytes)
    throw bad('grpcMaxMessageBytes must hold one max-size entry');
  if (cfg.writeCacheMaxBytes < 2 * maxFrame) throw bad('writeCacheMaxBytes must hold two max-size entries');
  if (cfg.gcMinorThreshold > cfg.gcMajorThreshold)
    throw bad('gcMinorThreshold must not exceed gcMajorThreshold');
  return cfg;
}

export function describeBookieConfig(): string {
  return describeConfig('bookie', bookieConfigSpec);
}
