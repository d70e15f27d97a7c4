/**
 * Every bound and default of the managed ledger in one place (units in the names).
 * `managedLedgerSettings` is a lib/config spec the broker embeds in its own configuration;
 * `topicDefaults` are the per-topic values used when the broker passes none
 * (reference/internals.md Appendix B).
 */
import type { ConfigOf, ConfigSpec } from '../../../lib/config/index.ts';
import type { ManagedLedgerConfig } from './api.ts';
import { mlErrors } from './errors.ts';

const MiB = 1024 * 1024;
const MINUTE_MS = 60_000;

export const managedLedgerSettings = {
  cacheMaxSizeBytes: {
    type: 'int',
    default: 128 * MiB,
    min: 0,
    doc: 'Entry cache budget shared by every topic of the broker (0 disables caching).',
  },
  cacheEvictionWatermark: {
    type: 'number',
    default: 0.9,
    min: 0.1,
    max: 1,
    doc: 'When the cache is over budget, evict the oldest entries until it is this fraction of the budget.',
  },
  cacheMaxEntrySizeBytes: {
    type: 'int',
    default: 8 * MiB,
    min: 0,
    doc: 'Entries larger than this are never cached.',
  },
  readAheadEntries: {
    type: 'int',
    default: 100,
    min: 1,
    max: 10_000,
    doc: 'On a cache miss, read at least this many entries from the bookies (filling the cache).',
  },
  readAheadMaxBytes: {
    type: 'int',
    default: 8 * MiB,
    min: 1024,
    doc: 'Stop read-ahead once this many bytes were read in one bookie read.',
  },
  maxEntriesPerRead: {
    type: 'int',
    default: 10_000,
    min: 1,
    doc: 'Most entries one read call returns (larger requests are cut to this).',
  },
  maxBytesPerRead: {
    type: 'int',
    default: 64 * MiB,
    min: 1024,
    doc: 'One read call stops after about this many bytes (always at least one entry).',
  },
  maxReadHandles: {
    type: 'int',
    default: 64,
    min: 1,
    max: 10_000,
    doc: 'Read handles of closed ledgers kept open per managed ledger (least recently used evicted).',
  },
  maxPendingAppends: {
    type: 'int',
    default: 10_000,
    min: 1,
    doc: 'Appends queued or in flight per managed ledger; more are rejected (TOO_MANY_PENDING_APPENDS).',
  },
  maxPendingAppendBytes: {
    type: 'int',
    default: 64 * MiB,
    min: 1024,
    doc: 'Payload bytes queued or in flight per managed ledger; more are rejected.',
  },
  maxEntrySizeBytes: {
    type: 'int',
    default: 5 * MiB + 64 * 1024,
    min: 1,
    doc: 'Largest entry accepted by append (ENTRY_TOO_LARGE beyond).',
  },
  markDeleteRatePerSecond: {
    type: 'number',
    default: 1.0,
    min: 0.001,
    max: 1000,
    doc: 'Cursor ack state is persisted at most this often per cursor; acks in between mark it dirty.',
  },
  maxAckRangesToPersist: {
    type: 'int',
    default: 10_000,
    min: 0,
    doc: 'Individually acked ranges written to a cursor ledger entry; more stay in memory only.',
  },
  maxAckRangesInKey: {
    type: 'int',
    default: 1_000,
    min: 0,
    doc: 'Individually acked ranges the cursor key may hold; with more the state goes to the cursor ledger.',
  },
  maxBatchAcksToPersist: {
    type: 'int',
    default: 10_000,
    min: 0,
    doc: 'Partly acked batch entries (ack sets) written to a cursor ledger entry.',
  },
  maxBatchAcksInKey: {
    type: 'int',
    default: 1_000,
    min: 0,
    doc: 'Partly acked batch entries the cursor key may hold.',
  },
  maxCursorKeyBytes: {
    type: 'int',
    default: 256 * 1024,
    min: 1024,
    max: 1 * MiB,
    doc: 'Largest encoded cursor key; bigger state goes to the cursor ledger.',
  },
  cursorLedgerMaxEntries: {
    type: 'int',
    default: 50_000,
    min: 1,
    doc: 'Roll a cursor ledger after this many state writes.',
  },
  cursorLedgerRolloverTimeMs: {
    type: 'int',
    default: 240 * MINUTE_MS,
    min: 1_000,
    doc: 'Roll a cursor ledger this long after it was created.',
  },
  maxCursorsPerLedger: {
    type: 'int',
    default: 10_000,
    min: 1,
    doc: 'Cursors (subscriptions, readers) per managed ledger.',
  },
  cursorRecoveryConcurrency: {
    type: 'int',
    default: 8,
    min: 1,
    max: 256,
    doc: 'Cursors recovered in parallel when a managed ledger is opened.',
  },
  retentionCheckIntervalMs: {
    type: 'int',
    default: 120_000,
    min: 100,
    doc: 'How often every open managed ledger checks for ledgers to trim.',
  },
  rolloverCheckIntervalMs: {
    type: 'int',
    default: 60_000,
    min: 100,
    doc: 'How often idle managed ledgers check the time-based rollover.',
  },
  cacheInvalidationIntervalMs: {
    type: 'int',
    default: 1_000,
    min: 10,
    doc: 'How often cached entries every cursor has read past are dropped.',
  },
  rolloverJitterFraction: {
    type: 'number',
    default: 0.05,
    min: 0,
    max: 1,
    doc: 'Random extra fraction added to maxLedgerRolloverTimeMs so topics do not all roll together.',
  },
  ledgerCreateAttempts: {
    type: 'int',
    default: 5,
    min: 1,
    max: 100,
    doc: 'Attempts to create a new ledger (roll, add error) before the waiting appends fail.',
  },
  maxLedgerIdSkips: {
    type: 'int',
    default: 1_000,
    min: 1,
    doc: 'New ledgers must have ids above the last of the list; ids below it (from a batch reserved earlier) are skipped at most this often.',
  },
  openTakeoverAttempts: {
    type: 'int',
    default: 5,
    min: 1,
    max: 100,
    doc: 'Open: attempts to take over a topic whose ledger list keeps changing (the old owner still rolling).',
  },
  metadataAttempts: {
    type: 'int',
    default: 5,
    min: 1,
    max: 100,
    doc: 'Attempts of a metadata write that failed as UNAVAILABLE (the outcome is re-checked).',
  },
  retryBackoffMs: {
    type: 'int',
    default: 100,
    min: 1,
    max: 60_000,
    doc: 'First retry delay; doubles per attempt up to 32 times this.',
  },
  ledgerPassword: {
    type: 'string',
    default: 'magnetar-managed-ledger',
    doc: 'Password of the ledgers the managed ledger creates (needed to recover them).',
  },
  defaultEnsembleSize: { type: 'int', default: 2, min: 1, max: 64, doc: 'Default E per topic.' },
  defaultWriteQuorum: { type: 'int', default: 2, min: 1, max: 64, doc: 'Default Qw per topic.' },
  defaultAckQuorum: { type: 'int', default: 2, min: 1, max: 64, doc: 'Default Qa per topic.' },
  defaultMaxEntriesPerLedger: {
    type: 'int',
    default: 50_000,
    min: 1,
    doc: 'Default: roll a topic ledger after this many entries.',
  },
  defaultMaxSizePerLedgerBytes: {
    type: 'int',
    default: 2048 * MiB,
    min: 1,
    doc: 'Default: roll a topic ledger after this many payload bytes.',
  },
  defaultMinLedgerRolloverTimeMs: {
    type: 'int',
    default: 10 * MINUTE_MS,
    min: 0,
    doc: 'Default: never roll by entries/size sooner than this.',
  },
  defaultMaxLedgerRolloverTimeMs: {
    type: 'int',
    default: 240 * MINUTE_MS,
    min: 1,
    doc: 'Default: roll a non-empty ledger this long after its creation.',
  },
  defaultRetentionTimeMs: {
    type: 'int',
    default: 0,
    min: -1,
    doc: 'Default retention time (0 = delete once consumed, -1 = unlimited).',
  },
  defaultRetentionSizeBytes: {
    type: 'int',
    default: 0,
    min: -1,
    doc: 'Default retention size (0 = delete once consumed, -1 = unlimited).',
  },
} as const satisfies ConfigSpec;

export type ManagedLedgerSettings = ConfigOf<typeof managedLedgerSettings>;

/** The settings with every default (tests and embedders override single fields). */
export function defaultSettings(overrides: Partial<ManagedLedgerSettings> = {}): ManagedLedgerSettings {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(managedLedgerSettings)) out[k] = s.default;
  return { ...(out as ManagedLedgerSettings), ...overrides };
}

export function topicDefaults(s: ManagedLedgerSettings): ManagedLedgerConfig {
  return {
    ensembleSize: s.defaultEnsembleSize,
    writeQuorum: s.defaultWriteQuorum,
    ackQuorum: s.defaultAckQuorum,
    maxEntriesPerLedger: s.defaultMaxEntriesPerLedger,
    maxSizePerLedgerBytes: s.defaultMaxSizePerLedgerBytes,
    minLedgerRolloverTimeMs: s.defaultMinLedgerRolloverTimeMs,
    maxLedgerRolloverTimeMs: s.defaultMaxLedgerRolloverTimeMs,
    retentionTimeMs: s.defaultRetentionTimeMs,
    retentionSizeBytes: s.defaultRetentionSizeBytes,
  };
}

/** Merge a per-topic override onto the defaults and validate it (INVALID_CONFIG on a bad value). */
export function resolveTopicConfig(
  s: ManagedLedgerSettings,
  override: Partial<ManagedLedgerConfig> = {},
): ManagedLedgerConfig {
  const defaults = topicDefaults(s);
  const bad = (field: string, value: unknown, reason: string) =>
    mlErrors.make('INVALID_CONFIG', { field, value, reason });
  for (const field of Object.keys(override))
    if (!(field in defaults))
      throw bad(field, (override as Record<string, unknown>)[field], 'unknown setting');
  const c: ManagedLedgerConfig = { ...defaults, ...stripUndefined(override) };
  for (const [field, value] of Object.entries(c)) {
    if (!Number.isSafeInteger(value)) throw bad(field, value, 'must be an integer');
  }
  if (c.ensembleSize < 1) throw bad('ensembleSize', c.ensembleSize, 'must be >= 1');
  if (c.writeQuorum < 1 || c.writeQuorum > c.ensembleSize)
    throw bad('writeQuorum', c.writeQuorum, 'must be in 1..ensembleSize');
  if (c.ackQuorum < 1 || c.ackQuorum > c.writeQuorum)
    throw bad('ackQuorum', c.ackQuorum, 'must be in 1..writeQuorum');
  if (c.maxEntriesPerLedger < 1) throw bad('maxEntriesPerLedger', c.maxEntriesPerLedger, 'must be >= 1');
  if (c.maxSizePerLedgerBytes < 1)
    throw bad('maxSizePerLedgerBytes', c.maxSizePerLedgerBytes, 'must be >= 1');
  if (c.minLedgerRolloverTimeMs < 0) throw bad('minLedgerRolloverTimeMs', c.minLedgerRolloverTimeMs, '>= 0');
  if (c.maxLedgerRolloverTimeMs < 1) throw bad('maxLedgerRolloverTimeMs', c.maxLedgerRolloverTimeMs, '>= 1');
  if (c.retentionTimeMs < -1) throw bad('retentionTimeMs', c.retentionTimeMs, 'must be -1, 0 or positive');
  if (c.retentionSizeBytes < -1)
    throw bad('retentionSizeBytes', c.retentionSizeBytes, 'must be -1, 0 or positive');
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Delay before retry `attempt` (0-based): doubling from the base, capped at 32x. */
export function backoffMs(s: ManagedLedgerSettings, attempt: number): number {
  return s.retryBackoffMs * 2 ** Math.min(attempt, 5);
}
