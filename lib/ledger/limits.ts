/**
 * Every bound and timeout of the ledger client, in one place, with units in the names.
 * Services load these with `loadConfig('ledger', ledgerLimitsSpec, ...)` (flags `--add-timeout-ms`,
 * env `MAGNETAR_LEDGER_ADD_TIMEOUT_MS`), or pass a partial object to `createLedgerClient`.
 */
import {
  type ConfigOf,
  type ConfigSpec,
  describeConfig,
  loadConfig,
  type LoadOptions,
} from '../config/index.ts';

export const ledgerLimitsSpec = {
  addTimeoutMs: {
    type: 'int',
    default: 30_000,
    min: 10,
    max: 600_000,
    doc: 'An append not confirmed within this fails (outcome unknown), and so do the appends after it.',
  },
  bookieAddTimeoutMs: {
    type: 'int',
    default: 5_000,
    min: 5,
    max: 300_000,
    doc: 'A bookie that has not answered an add within this is treated as failed (ensemble change).',
  },
  bookieRequestTimeoutMs: {
    type: 'int',
    default: 5_000,
    min: 5,
    max: 300_000,
    doc: 'Deadline of one read, fence or LAC request to one bookie.',
  },
  speculativeReadDelayMs: {
    type: 'int',
    default: 100,
    min: 1,
    max: 60_000,
    doc: 'A read unanswered after this is also sent to the next bookie of the write set.',
  },
  readConcurrencyMax: {
    type: 'int',
    default: 256,
    min: 1,
    max: 4096,
    doc: 'Read requests of one read() call in flight at once.',
  },
  readRangeEntriesMax: {
    type: 'int',
    default: 1000,
    min: 1,
    max: 100_000,
    doc: 'Most entries asked for in one ReadRange request (a stripe: with E > Qw every E-th entry).',
  },
  readRangeBytesMax: {
    type: 'int',
    default: 8 * 1024 * 1024,
    min: 1024,
    max: 256 * 1024 * 1024,
    doc: 'Most bytes asked for in one ReadRange request.',
  },
  readEntriesMax: {
    type: 'int',
    default: 100_000,
    min: 1,
    max: 10_000_000,
    doc: 'Most entries one read() call may return.',
  },
  addBatchBytesMax: {
    type: 'int',
    default: 1024 * 1024,
    min: 1024,
    max: 64 * 1024 * 1024,
    doc: 'An AddStream message to a bookie is sent once it holds this many body bytes.',
  },
  addBatchCountMax: {
    type: 'int',
    default: 512,
    min: 1,
    max: 100_000,
    doc: 'An AddStream message to a bookie is sent once it holds this many entries.',
  },
  pendingAddsMax: {
    type: 'int',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    doc: 'Appends in flight per ledger; further appends wait (backpressure).',
  },
  pendingAddBytesMax: {
    type: 'int',
    default: 64 * 1024 * 1024,
    min: 1024,
    max: 4 * 1024 * 1024 * 1024,
    doc: 'Payload bytes in flight per ledger; further appends wait (backpressure).',
  },
  waitingAppendsMax: {
    type: 'int',
    default: 100_000,
    min: 0,
    max: 10_000_000,
    doc: 'Appends allowed to wait for room; beyond this append() rejects with TOO_MANY_PENDING_ADDS.',
  },
  entryBytesMax: {
    type: 'int',
    default: 5 * 1024 * 1024,
    min: 1,
    max: 128 * 1024 * 1024,
    doc: 'Largest payload of one entry.',
  },
  ensembleChangesMax: {
    type: 'int',
    default: 50,
    min: 0,
    max: 10_000,
    doc: 'Ensemble changes one writer may make before its appends fail.',
  },
  metadataCasAttemptsMax: {
    type: 'int',
    default: 20,
    min: 1,
    max: 1000,
    doc: 'Attempts of one metadata compare-and-swap loop before giving up.',
  },
  metadataRetryDelayMs: {
    type: 'int',
    default: 100,
    min: 1,
    max: 60_000,
    doc: 'Pause before retrying a metadata write the store could not take.',
  },
  recoveryReadWindow: {
    type: 'int',
    default: 16,
    min: 1,
    max: 10_000,
    doc: 'Recovery reads in flight at once.',
  },
  recoveryReadAttemptsMax: {
    type: 'int',
    default: 10,
    min: 1,
    max: 1000,
    doc: 'Times one entry is re-read during recovery when the answers decide nothing.',
  },
  recoveryRetryDelayMs: {
    type: 'int',
    default: 200,
    min: 1,
    max: 60_000,
    doc: 'Pause before retrying an undecided recovery read or a failed recovery pass.',
  },
  recoveryAttemptsMax: {
    type: 'int',
    default: 10,
    min: 1,
    max: 1000,
    doc: 'Recovery passes (fence, read, write back, close) before openLedger(recovery) fails.',
  },
  longPollTimeoutMsMax: {
    type: 'int',
    default: 60_000,
    min: 1,
    max: 3_600_000,
    doc: 'Longest waitForLastAddConfirmed the client passes to bookies.',
  },
  grpcMessageBytesMax: {
    type: 'int',
    default: 128 * 1024 * 1024,
    min: 1024 * 1024,
    max: 1024 * 1024 * 1024,
    doc: 'Largest gRPC message to or from a bookie.',
  },
} as const satisfies ConfigSpec;

export type LedgerLimits = Readonly<ConfigOf<typeof ledgerLimitsSpec>>;

export const defaultLedgerLimits: LedgerLimits = loadConfig('ledger', ledgerLimitsSpec);

/** Defaults overridden by `overrides`, validated against the bounds above. */
export function ledgerLimits(overrides: Partial<LedgerLimits> = {}, opts: LoadOptions = {}): LedgerLimits {
  return loadConfig('ledger', ledgerLimitsSpec, { ...opts, overrides: { ...opts.overrides, ...overrides } });
}

export function describeLedgerLimits(): string {
  return describeConfig('ledger', ledgerLimitsSpec);
}
