/**
 * Policy resolution as Pulsar does it: a topic-level value wins, else the namespace's, else the
 * broker default. Pure: the broker (and `applied=true` admin reads) call it with the documents the
 * PolicyStore holds.
 */
import type { PolicyDefaults } from './defaults.ts';
import type {
  AutoTopicCreationOverride,
  BacklogQuota,
  BacklogQuotaPolicy,
  BacklogQuotaType,
  DispatchRate,
  PersistencePolicies,
  Policies,
  PublishRate,
  RetentionPolicies,
  SubscribeRate,
  TopicPolicies,
} from './types.ts';

/** Everything the broker needs to enforce for one topic. */
export interface EffectivePolicies {
  retention: RetentionPolicies;
  /** 0 = messages never expire. */
  messageTtlSeconds: number;
  backlogQuotas: Partial<Record<BacklogQuotaType, BacklogQuota>>;
  deduplicationEnabled: boolean;
  persistence: PersistencePolicies;
  publishRate: PublishRate;
  dispatchRate: DispatchRate;
  subscriptionDispatchRate: DispatchRate;
  subscribeRate: SubscribeRate;
  /** 0 = subscriptions never expire. */
  subscriptionExpirationTimeMinutes: number;
  autoTopicCreation: AutoTopicCreationOverride;
  replicationClusters: string[];
  /** -1 = offload off. */
  offloadThresholdBytes: number;
  offloadDeletionLagMs: number;
  /** 0 = no limit. */
  maxProducersPerTopic: number;
  maxConsumersPerTopic: number;
}

export function defaultBacklogQuotas(d: PolicyDefaults): Partial<Record<BacklogQuotaType, BacklogQuota>> {
  const policy = d.backlogQuotaDefaultRetentionPolicy as BacklogQuotaPolicy;
  const out: Partial<Record<BacklogQuotaType, BacklogQuota>> = {};
  if (d.backlogQuotaDefaultLimitBytes >= 0) {
    out.destination_storage = { limitSize: d.backlogQuotaDefaultLimitBytes, limitTime: -1, policy };
  }
  if (d.backlogQuotaDefaultLimitSecond >= 0) {
    out.message_age = { limitSize: -1, limitTime: d.backlogQuotaDefaultLimitSecond, policy };
  }
  return out;
}

function pick<T>(...values: (T | undefined | null)[]): T {
  for (const v of values) if (v !== undefined && v !== null) return v;
  throw new Error('resolve: no value and no default');
}

/**
 * Resolve the effective policies of one topic. `ns` is the namespace document, `topic` the
 * topic-level overrides (if any), `cluster` this broker's cluster (rate maps are keyed by it).
 */
export function resolvePolicies(
  d: PolicyDefaults,
  cluster: string,
  ns: Policies | undefined,
  topic?: TopicPolicies,
): EffectivePolicies {
  const quotas =
    topic?.backlog_quota_map && Object.keys(topic.backlog_quota_map).length > 0
      ? topic.backlog_quota_map
      : ns && Object.keys(ns.backlog_quota_map).length > 0
        ? ns.backlog_quota_map
        : defaultBacklogQuotas(d);
  return {
    retention: pick(topic?.retention_policies, ns?.retention_policies, {
      retentionTimeInMinutes: d.defaultRetentionTimeInMinutes,
      retentionSizeInMB: d.defaultRetentionSizeInMB,
    }),
    messageTtlSeconds: pick(
      topic?.message_ttl_in_seconds,
      ns?.message_ttl_in_seconds,
      d.ttlDurationDefaultInSeconds,
    ),
    backlogQuotas: { ...quotas },
    deduplicationEnabled: pick(
      topic?.deduplicationEnabled,
      ns?.deduplicationEnabled,
      d.brokerDeduplicationEnabled,
    ),
    persistence: pick(topic?.persistence, ns?.persistence, {
      bookkeeperEnsemble: d.managedLedgerDefaultEnsembleSize,
      bookkeeperWriteQuorum: d.managedLedgerDefaultWriteQuorum,
      bookkeeperAckQuorum: d.managedLedgerDefaultAckQuorum,
      managedLedgerMaxMarkDeleteRate: d.managedLedgerDefaultMarkDeleteRateLimit,
    }),
    publishRate: pick(topic?.publishRate, ns?.publishMaxMessageRate[cluster], {
      publishThrottlingRateInMsg: d.maxPublishRatePerTopicInMessages,
      publishThrottlingRateInByte: d.maxPublishRatePerTopicInBytes,
    }),
    dispatchRate: pick(topic?.dispatchRate, ns?.topicDispatchRate[cluster], {
      dispatchThrottlingRateInMsg: d.dispatchThrottlingRatePerTopicInMsg,
      dispatchThrottlingRateInByte: d.dispatchThrottlingRatePerTopicInByte,
      ratePeriodInSecond: 1,
      relativeToPublishRate: false,
    }),
    subscriptionDispatchRate: pick(topic?.subscriptionDispatchRate, ns?.subscriptionDispatchRate[cluster], {
      dispatchThrottlingRateInMsg: d.dispatchThrottlingRatePerSubscriptionInMsg,
      dispatchThrottlingRateInByte: d.dispatchThrottlingRatePerSubscriptionInByte,
      ratePeriodInSecond: 1,
      relativeToPublishRate: false,
    }),
    subscribeRate: pick(topic?.subscribeRate, ns?.clusterSubscribeRate[cluster], {
      subscribeThrottlingRatePerConsumer: d.subscribeThrottlingRatePerConsumer,
      ratePeriodInSecond: d.subscribeRatePeriodPerConsumerInSecond,
    }),
    subscriptionExpirationTimeMinutes: pick(
      ns?.subscription_expiration_time_minutes,
      d.subscriptionExpirationTimeMinutes,
    ),
    autoTopicCreation: pick(ns?.autoTopicCreationOverride, brokerAutoTopicCreation(d)),
    replicationClusters: ns && ns.replication_clusters.length > 0 ? [...ns.replication_clusters] : [cluster],
    offloadThresholdBytes:
      ns && ns.offload_threshold !== -1 ? ns.offload_threshold : d.managedLedgerOffloadThresholdInBytes,
    offloadDeletionLagMs: pick(ns?.offload_deletion_lag_ms, d.managedLedgerOffloadDeletionLagMs),
    maxProducersPerTopic: pick(
      topic?.max_producers_per_topic,
      ns?.max_producers_per_topic,
      d.maxProducersPerTopic,
    ),
    maxConsumersPerTopic: pick(
      topic?.max_consumers_per_topic,
      ns?.max_consumers_per_topic,
      d.maxConsumersPerTopic,
    ),
  };
}

export function brokerAutoTopicCreation(d: PolicyDefaults): AutoTopicCreationOverride {
  if (!d.allowAutoTopicCreation) return { allowAutoTopicCreation: false };
  return d.allowAutoTopicCreationType === 'partitioned'
    ? { allowAutoTopicCreation: true, topicType: 'partitioned', defaultNumPartitions: d.defaultNumPartitions }
    : { allowAutoTopicCreation: true, topicType: 'non-partitioned' };
}
