/**
 * Every bound of the metadata layer in one place, with units in the names. The same spec feeds
 * `loadConfig('metadata', metadataConfigSpec, ...)` for services and `describeConfig` for the docs.
 */
import type { ConfigOf, ConfigSpec } from '../config/index.ts';
import { MetadataErrors } from './errors.ts';

export const metadataConfigSpec = {
  maxKeyBytes: {
    type: 'int',
    default: 1024,
    min: 16,
    max: 8192,
    doc: 'longest key (UTF-8 bytes), root prefix excluded',
  },
  maxValueBytes: {
    type: 'int',
    default: 1_048_576,
    min: 1024,
    max: 1_400_000,
    doc: 'largest value; etcd refuses requests above its --max-request-bytes (1.5 MiB by default)',
  },
  maxTxnOps: {
    type: 'int',
    default: 128,
    min: 1,
    max: 10_000,
    doc: 'ops per transaction (etcd --max-txn-ops default)',
  },
  maxTxnBytes: {
    type: 'int',
    default: 1_400_000,
    min: 4096,
    max: 1_500_000,
    doc: 'sum of key and value bytes in one transaction',
  },
  maxPageSize: {
    type: 'int',
    default: 1000,
    min: 1,
    max: 10_000,
    doc: 'most entries one list() page returns',
  },
  maxListAllEntries: {
    type: 'int',
    default: 100_000,
    min: 1,
    max: 10_000_000,
    doc: 'most entries listAll() gathers before failing with TOO_MANY_KEYS',
  },
  opAttemptTimeoutMs: {
    type: 'int',
    default: 5_000,
    min: 50,
    max: 120_000,
    doc: 'deadline of one attempt of one etcd call',
  },
  opDeadlineMs: {
    type: 'int',
    default: 15_000,
    min: 100,
    max: 600_000,
    doc: 'total time one store call may take, retries included',
  },
  retryMaxAttempts: {
    type: 'int',
    default: 6,
    min: 1,
    max: 100,
    doc: 'attempts per call before UNAVAILABLE',
  },
  retryBackoffInitialMs: {
    type: 'int',
    default: 50,
    min: 1,
    max: 10_000,
    doc: 'first retry delay (doubles, jittered)',
  },
  retryBackoffMaxMs: { type: 'int', default: 2_000, min: 1, max: 60_000, doc: 'largest retry delay' },
  minSessionTtlMs: {
    type: 'int',
    default: 1_000,
    min: 100,
    max: 60_000,
    doc: 'shortest session TTL accepted',
  },
  maxSessionTtlMs: {
    type: 'int',
    default: 300_000,
    min: 1_000,
    max: 3_600_000,
    doc: 'longest session TTL accepted',
  },
  sessionKeepAlivesPerTtl: {
    type: 'int',
    default: 3,
    min: 2,
    max: 20,
    doc: 'keep-alives sent per TTL period (etcd); the session is lost when none was confirmed for a whole TTL',
  },
  maxSessions: {
    type: 'int',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    doc: 'live sessions per store client',
  },
  maxWatches: { type: 'int', default: 10_000, min: 1, max: 1_000_000, doc: 'open watches per store client' },
  watchGiveUpMs: {
    type: 'int',
    default: 60_000,
    min: 1_000,
    max: 3_600_000,
    doc: 'a watch that cannot reconnect for this long reports UNAVAILABLE through onError and ends',
  },
  watchHistoryEvents: {
    type: 'int',
    default: 10_000,
    min: 100,
    max: 10_000_000,
    doc: 'embedded store: recent events kept so watches can start at an earlier version',
  },
  walCompactBytes: {
    type: 'int',
    default: 64 * 1024 * 1024,
    min: 64 * 1024,
    max: 4 * 1024 * 1024 * 1024,
    doc: 'embedded store: write a snapshot and start a new log once the log passes this size',
  },
} as const satisfies ConfigSpec;

export type MetadataLimits = ConfigOf<typeof metadataConfigSpec>;

export const DEFAULT_LIMITS: Readonly<MetadataLimits> = Object.freeze(
  Object.fromEntries(Object.entries(metadataConfigSpec).map(([k, s]) => [k, s.default])) as MetadataLimits,
);

/** Defaults overridden by `overrides`; each override is checked against the spec's bounds. */
export function resolveLimits(overrides: Partial<MetadataLimits> = {}): Readonly<MetadataLimits> {
  const out = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(overrides)) {
    const spec = (metadataConfigSpec as ConfigSpec)[name];
    if (!spec) throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'limit', why: `unknown limit ${name}` });
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw MetadataErrors.make('INVALID_ARGUMENT', {
        what: `limit ${name}`,
        why: `not an integer: ${value}`,
      });
    }
    const { min, max } = spec as { min?: number; max?: number };
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
      throw MetadataErrors.make('INVALID_ARGUMENT', {
        what: `limit ${name}`,
        why: `${value} is outside ${min} … ${max}`,
      });
    }
    (out as Record<string, number>)[name] = value;
  }
  if (out.minSessionTtlMs > out.maxSessionTtlMs) {
    throw MetadataErrors.make('INVALID_ARGUMENT', {
      what: 'limits',
      why: 'minSessionTtlMs > maxSessionTtlMs',
    });
  }
  return Object.freeze(out);
}
