/**
 * Broker-level policy defaults: what a topic gets when neither the topic nor its namespace sets a
 * policy. Names follow Pulsar's broker.conf so operators find them. Part of the broker's config
 * (spread `policyDefaultsSpec` into its spec); `describeConfig` renders the docs.
 */
import type { ConfigOf, ConfigSpec } from '../config/index.ts';
import { fullRangeBoundaries } from './bundles.ts';
import type { Policies } from './types.ts';

export const policyDefaultsSpec = {
  defaultRetentionTimeInMinutes: {
    type: 'int',
    default: 0,
    min: -1,
    doc: 'Retention time for namespaces without a retention policy (-1 infinite, 0 none)',
  },
  defaultRetentionSizeInMB: {
    type: 'int',
    default: 0,
    min: -1,
    doc: 'Retention size for namespaces without a retention policy (-1 infinite, 0 none)',
  },
  ttlDurationDefaultInSeconds: {
    type: 'int',
    default: 0,
    min: 0,
    doc: 'Message TTL when none is set (0 = messages never expire)',
  },
  backlogQuotaDefaultLimitBytes: {
    type: 'int',
    default: -1,
    min: -1,
    doc: 'Default backlog size quota per topic in bytes (-1 = none)',
  },
  backlogQuotaDefaultLimitSecond: {
    type: 'int',
    default: -1,
    min: -1,
    doc: 'Default backlog age quota per topic in seconds (-1 = none)',
  },
  backlogQuotaDefaultRetentionPolicy: {
    type: 'string',
    default: 'producer_request_hold',
    choices: ['producer_request_hold', 'producer_exception', 'consumer_backlog_eviction'],
    doc: 'What to do when the default backlog quota is exceeded',
  },
  brokerDeduplicationEnabled: {
    type: 'bool',
    default: false,
    doc: 'Deduplication for namespaces that do not set it',
  },
  managedLedgerDefaultEnsembleSize: { type: 'int', default: 2, min: 1, max: 64, doc: 'Default E' },
  managedLedgerDefaultWriteQuorum: { type: 'int', default: 2, min: 1, max: 64, doc: 'Default Qw' },
  managedLedgerDefaultAckQuorum: { type: 'int', default: 2, min: 1, max: 64, doc: 'Default Qa' },
  managedLedgerDefaultMarkDeleteRateLimit: {
    type: 'number',
    default: 1,
    min: 0,
    doc: 'Default cursor mark-delete persist rate per second (0 = unlimited)',
  },
  allowAutoTopicCreation: { type: 'bool', default: true, doc: 'Create topics on first use' },
  allowAutoTopicCreationType: {
    type: 'string',
    default: 'non-partitioned',
    choices: ['partitioned', 'non-partitioned'],
    doc: 'Type of auto-created topics',
  },
  defaultNumPartitions: {
    type: 'int',
    default: 1,
    min: 1,
    max: 4096,
    doc: 'Partitions of auto-created partitioned topics',
  },
  maxNumPartitionsPerPartitionedTopic: {
    type: 'int',
    default: 1024,
    min: 1,
    max: 65536,
    doc: 'Upper bound of a partitioned topic partition count',
  },
  subscriptionExpirationTimeMinutes: {
    type: 'int',
    default: 0,
    min: 0,
    doc: 'Delete subscriptions inactive this long (0 = never)',
  },
  dispatchThrottlingRatePerTopicInMsg: {
    type: 'int',
    default: -1,
    min: -1,
    doc: 'Topic dispatch msg/s (-1 off)',
  },
  dispatchThrottlingRatePerTopicInByte: {
    type: 'int',
    default: -1,
    min: -1,
    doc: 'Topic dispatch B/s (-1 off)',
  },
  dispatchThrottlingRatePerSubscriptionInMsg: {
    type: 'int',
    default: -1,
    min: -1,
    doc: 'Subscription dispatch msg/s (-1 off)',
  },
  dispatchThrottlingRatePerSubscriptionInByte: {
    type: 'int',
    default: -1,
    min: -1,
    doc: 'Subscription dispatch B/s (-1 off)',
  },
  maxPublishRatePerTopicInMessages: {
    type: 'int',
    default: -1,
    min: -1,
    doc: 'Topic publish msg/s (-1 off)',
  },
  maxPublishRatePerTopicInBytes: { type: 'int', default: -1, min: -1, doc: 'Topic publish B/s (-1 off)' },
  subscribeThrottlingRatePerConsumer: {
    type: 'int',
    default: -1,
    min: -1,
    doc: 'Subscribes per consumer per period (-1 off)',
  },
  subscribeRatePeriodPerConsumerInSecond: { type: 'int', default: 30, min: 1, doc: 'Subscribe rate period' },
  managedLedgerOffloadThresholdInBytes: {
    type: 'int',
    default: -1,
    min: -1,
    doc: 'Offload threshold in bytes (-1 = off)',
  },
  managedLedgerOffloadDeletionLagMs: {
    type: 'int',
    default: 14_400_000,
    min: 0,
    doc: 'Delay before the bookie copy of an offloaded ledger is deleted',
  },
  defaultNumberOfNamespaceBundles: {
    type: 'int',
    default: 4,
    min: 1,
    max: 128,
    doc: 'Bundles of a new namespace',
  },
  maxNamespaceBundles: {
    type: 'int',
    default: 128,
    min: 1,
    max: 4096,
    doc: 'Bundles a namespace may be split into at most',
  },
  maxProducersPerTopic: { type: 'int', default: 0, min: 0, doc: 'Producers per topic (0 = no limit)' },
  maxConsumersPerTopic: { type: 'int', default: 0, min: 0, doc: 'Consumers per topic (0 = no limit)' },
} as const satisfies ConfigSpec;

export type PolicyDefaults = ConfigOf<typeof policyDefaultsSpec>;

/** The defaults with no overrides (tests, tools). */
export function builtinPolicyDefaults(): PolicyDefaults {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(policyDefaultsSpec)) out[k] = s.default;
  return out as PolicyDefaults;
}

/** A fresh namespace document: nothing set, so everything inherits the broker defaults. */
export function emptyPolicies(numBundles: number): Policies {
  return {
    auth_policies: { namespace_auth: {}, destination_auth: {}, subscription_auth_roles: {} },
    replication_clusters: [],
    bundles: { boundaries: fullRangeBoundaries(numBundles), numBundles },
    backlog_quota_map: {},
    topicDispatchRate: {},
    subscriptionDispatchRate: {},
    clusterSubscribeRate: {},
    publishMaxMessageRate: {},
    encryption_required: false,
    offload_threshold: -1,
    subscription_auth_mode: 'None',
    deleted: false,
    properties: {},
  };
}
