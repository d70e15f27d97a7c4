/**
 * Settings of the broker side of cluster control (ownership, lookup, registration, load reports).
 * The broker merges this spec into its own (`loadConfig('broker', {...brokerSpec,
 * ...clusterConfigSpec})`); the coordinator reuses the placement part. Units are in the names.
 */
import type { ConfigOf } from '../config/index.ts';
import { ABSOLUTE_MAX_BUNDLES } from './bundle-range.ts';

export const placementConfigSpec = {
  overloadThreshold: {
    type: 'number',
    default: 0.85,
    min: 0.05,
    max: 10,
    doc: 'load score (max of CPU, memory, msg-rate and byte-rate fractions) at which a broker counts as overloaded',
  },
  placementScoreTolerance: {
    type: 'number',
    default: 0.1,
    min: 0,
    max: 10,
    doc: 'brokers within this score of the least loaded are equal for placement; the fewest bundles wins',
  },
  brokerMaxMsgRate: {
    type: 'number',
    default: 50_000,
    min: 1,
    max: 1e9,
    doc: 'messages/s (in + out) a broker is sized for; that rate scores 1.0',
  },
  brokerMaxBytesPerSec: {
    type: 'number',
    default: 200_000_000,
    min: 1,
    max: 1e12,
    doc: 'bytes/s (in + out) a broker is sized for; that rate scores 1.0',
  },
} as const;

export const clusterConfigSpec = {
  ...placementConfigSpec,
  sessionTtlMs: {
    type: 'int',
    default: 4_000,
    min: 1_000,
    max: 300_000,
    doc: 'broker session (etcd lease) TTL: a dead broker loses its bundles this long after its last keep-alive',
  },
  sessionRecreateDelayMs: {
    type: 'int',
    default: 500,
    min: 10,
    max: 60_000,
    doc: 'wait between attempts to open a new session after the old one was lost',
  },
  registrationWaitMs: {
    type: 'int',
    default: 15_000,
    min: 0,
    max: 600_000,
    doc: 'how long a starting broker waits for a previous registration under its id (another session) to expire',
  },
  loadReportIntervalMs: {
    type: 'int',
    default: 5_000,
    min: 100,
    max: 900_000,
    doc: 'how often the broker rewrites its load report',
  },
  loadReportMaxBundles: {
    type: 'int',
    default: 500,
    min: 0,
    max: 10_000,
    doc: 'per-bundle loads in one report (the busiest first)',
  },
  memoryLimitBytes: {
    type: 'int',
    default: 0,
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    doc: 'memory budget for the load report (0: the cgroup limit if any, else the machine total)',
  },
  defaultNumberOfNamespaceBundles: {
    type: 'int',
    default: 4,
    min: 1,
    max: ABSOLUTE_MAX_BUNDLES,
    doc: 'bundles a namespace starts with when no boundaries are stored yet',
  },
  lookupMaxAttempts: {
    type: 'int',
    default: 8,
    min: 1,
    max: 100,
    doc: 'state reads/transitions one lookup may go through before answering ServiceNotReady',
  },
  lookupWaitForOwnerMs: {
    type: 'int',
    default: 5_000,
    min: 0,
    max: 60_000,
    doc: 'how long a lookup waits for a bundle in flight (assigning, releasing, splitting) to settle',
  },
  lookupMaxConcurrent: {
    type: 'int',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    doc: 'lookups resolved at once by this broker; more are refused with TooManyRequests',
  },
  unloadTimeoutMs: {
    type: 'int',
    default: 30_000,
    min: 100,
    max: 600_000,
    doc: 'how long the unload handlers may take before the bundle is released anyway (fencing protects data)',
  },
  boundariesCacheMaxNamespaces: {
    type: 'int',
    default: 100_000,
    min: 1,
    max: 10_000_000,
    doc: 'namespaces whose bundle boundaries are cached (least recently used evicted)',
  },
  viewMaxBundles: {
    type: 'int',
    default: 200_000,
    min: 1,
    max: 10_000_000,
    doc: 'bundle records mirrored in memory; past it lookups read the store',
  },
  viewMaxBrokers: {
    type: 'int',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    doc: 'broker registrations mirrored in memory',
  },
  viewResyncDelayMs: {
    type: 'int',
    default: 1_000,
    min: 10,
    max: 60_000,
    doc: 'wait before re-listing after a metadata watch failed',
  },
} as const;

export type ClusterConfig = ConfigOf<typeof clusterConfigSpec>;
export type PlacementConfig = ConfigOf<typeof placementConfigSpec>;
