/**
 * Coordinator settings (`loadConfig('coordinator', coordinatorConfigSpec, ...)`); flags
 * `--http-port 8090`, env `MAGNETAR_COORDINATOR_HTTP_PORT`, or a YAML/JSON `--config` file.
 * Defaults follow internals.md Appendix B where Pulsar/BookKeeper have one.
 */

import { ABSOLUTE_MAX_BUNDLES } from '../../lib/cluster/bundle-range.ts';
import { placementConfigSpec } from '../../lib/cluster/config.ts';
import type { ConfigOf } from '../../lib/config/index.ts';

const ms = (doc: string, def: number, min = 10, max = 86_400_000) =>
  ({ type: 'int', default: def, min, max, doc }) as const;
const count = (doc: string, def: number, min = 1, max = 1_000_000) =>
  ({ type: 'int', default: def, min, max, doc }) as const;

export const coordinatorConfigSpec = {
  ...placementConfigSpec,
  cluster: { type: 'string', default: 'standalone', doc: 'cluster name (metadata keys live under it)' },
  metadataUrl: {
    type: 'string',
    default: 'etcd://127.0.0.1:2379/magnetar',
    doc: 'metadata store: etcd://host:port[,host:port]/prefix or file:///dir',
  },
  coordinatorId: { type: 'string', default: '', doc: "this replica's id (default: host:httpPort)" },
  httpHost: {
    type: 'string',
    default: '0.0.0.0',
    doc: 'address the HTTP server (health, ready, metrics, status) binds',
  },
  httpPort: { type: 'int', default: 8090, min: 0, max: 65535, doc: 'HTTP port (0: any free port)' },
  advertisedHttpUrl: {
    type: 'string',
    default: '',
    doc: 'http://host:port others use to reach this replica (default from host/port)',
  },
  sessionTtlMs: ms(
    'coordinator session (etcd lease) TTL: a standby takes over within this after the leader dies',
    4_000,
    1_000,
    300_000,
  ),
  sessionRecreateDelayMs: ms('wait between attempts to open a new session after losing one', 500),
  assignIntervalMs: ms(
    'how often the leader looks for free and orphaned bundles (also woken by changes)',
    1_000,
  ),
  assignConcurrency: count('bundles the leader frees/assigns at once in one assignment pass', 16, 1, 1024),
  maxAssignmentsPerRun: count('bundle transitions (free/assign) the leader issues per assignment run', 1_000),
  splittingStaleMs: ms(
    'a Splitting record older than this is finished by the leader (its initiator died)',
    10_000,
  ),
  sheddingEnabled: { type: 'bool', default: true, doc: 'unload bundles from overloaded brokers' },
  sheddingIntervalMs: ms('how often the leader evaluates load shedding', 60_000),
  sheddingGraceMs: ms('a bundle moved less than this ago is not shed again', 1_800_000, 0),
  overloadMargin: {
    type: 'number',
    default: 0.05,
    min: 0,
    max: 1,
    doc: 'shedding brings a broker below overloadThreshold minus this',
  },
  maxBundleCountSpread: count(
    "shed when healthy brokers' bundle counts differ by more than this (0: never)",
    0,
    0,
  ),
  maxUnloadsPerRun: count('bundles shed per shedding run', 4),
  splitEnabled: { type: 'bool', default: true, doc: 'split bundles that pass the thresholds below' },
  splitIntervalMs: ms('how often the leader evaluates bundle splits', 60_000),
  splitMaxTopics: count('split a bundle with more topics than this', 1_000),
  splitMaxSessions: count('split a bundle with more producers + consumers than this', 1_000),
  splitMaxMsgRate: {
    type: 'number',
    default: 30_000,
    min: 1,
    max: 1e9,
    doc: 'split a bundle with more msg/s (in + out) than this',
  },
  splitMaxBytesPerSec: {
    type: 'number',
    default: 100_000_000,
    min: 1,
    max: 1e12,
    doc: 'split a bundle with more bytes/s (in + out) than this',
  },
  maxBundlesPerNamespace: count(
    'a namespace is never split beyond this many bundles',
    128,
    1,
    ABSOLUTE_MAX_BUNDLES,
  ),
  maxSplitsPerRun: count('bundles split per split run', 4),
  viewMaxBundles: count('bundle records mirrored in memory', 200_000),
  viewMaxBrokers: count('broker registrations mirrored in memory', 10_000),
  viewResyncDelayMs: ms('wait before re-listing after a metadata watch failed', 1_000),
  autorecoveryEnabled: {
    type: 'bool',
    default: true,
    doc: 'audit bookies and re-replicate ledgers of lost or decommissioned ones',
  },
  lostBookieRecoveryDelayMs: ms(
    'wait after a bookie disappears before its ledgers are marked under-replicated',
    5_000,
    0,
  ),
  auditIntervalMs: ms(
    'period of the full audit of every ledger (bookie losses and decommission marks also trigger one)',
    3_600_000,
    100,
  ),
  openLedgerRereplicationGraceMs: ms(
    "an open ledger's last fragment gets this long for its writer to replace a lost bookie before the ledger is fenced",
    30_000,
    0,
  ),
  rereplicationConcurrency: count('ledgers re-replicated at once', 2, 1, 64),
  rereplicationRetryDelayMs: ms('wait before retrying a ledger whose re-replication failed', 5_000),
  rereplicationRetryMaxDelayMs: ms(
    'longest wait between retries of one ledger (the delay doubles per failure)',
    60_000,
  ),
  rereplicationMaxAttempts: count(
    'failed attempts after which a ledger is reported failed (it is still retried)',
    5,
    1,
    1000,
  ),
  fragmentCopyBatchEntries: count('entries read and written per step of a fragment copy', 100, 1, 10_000),
  fragmentCopyBatchBytes: count('bytes read per step of a fragment copy', 8_388_608, 65_536, 1_073_741_824),
  statusMaxLedgers: count('ledgers listed per category in /status/autorecovery', 1_000, 1, 100_000),
} as const;

export type CoordinatorConfig = ConfigOf<typeof coordinatorConfigSpec>;
