/**
 * The multi-tenancy data model with Pulsar's JSON field names (pulsar-features.md §2.9). These
 * documents are stored as JSON in the metadata store and served unchanged by the admin API, so
 * existing Pulsar tooling reads them. The namespace document keeps Pulsar's historical mix of
 * snake_case and camelCase names on purpose.
 */

export interface ClusterData {
  serviceUrl?: string;
  serviceUrlTls?: string;
  brokerServiceUrl?: string;
  brokerServiceUrlTls?: string;
  peerClusterNames?: string[];
  authenticationPlugin?: string;
  authenticationParameters?: string;
  brokerClientTlsEnabled?: boolean;
  brokerClientTrustCertsFilePath?: string;
  proxyServiceUrl?: string;
  proxyProtocol?: string;
}

export interface TenantInfo {
  adminRoles: string[];
  allowedClusters: string[];
}

export interface RetentionPolicies {
  /** -1 = infinite, 0 = none. */
  retentionTimeInMinutes: number;
  /** -1 = infinite, 0 = none. */
  retentionSizeInMB: number;
}

export const BACKLOG_QUOTA_POLICIES = [
  'producer_request_hold',
  'producer_exception',
  'consumer_backlog_eviction',
] as const;
export type BacklogQuotaPolicy = (typeof BACKLOG_QUOTA_POLICIES)[number];

export const BACKLOG_QUOTA_TYPES = ['destination_storage', 'message_age'] as const;
export type BacklogQuotaType = (typeof BACKLOG_QUOTA_TYPES)[number];

export interface BacklogQuota {
  /** Bytes; -1 = no size limit. */
  limitSize: number;
  /** Seconds; -1 = no age limit. */
  limitTime: number;
  policy: BacklogQuotaPolicy;
}

export interface DispatchRate {
  dispatchThrottlingRateInMsg: number;
  dispatchThrottlingRateInByte: number;
  ratePeriodInSecond: number;
  relativeToPublishRate: boolean;
}

export interface PublishRate {
  publishThrottlingRateInMsg: number;
  publishThrottlingRateInByte: number;
}

export interface SubscribeRate {
  subscribeThrottlingRatePerConsumer: number;
  ratePeriodInSecond: number;
}

export interface PersistencePolicies {
  bookkeeperEnsemble: number;
  bookkeeperWriteQuorum: number;
  bookkeeperAckQuorum: number;
  managedLedgerMaxMarkDeleteRate: number;
}

export const TOPIC_TYPES = ['partitioned', 'non-partitioned'] as const;
export type TopicType = (typeof TOPIC_TYPES)[number];

export interface AutoTopicCreationOverride {
  allowAutoTopicCreation: boolean;
  topicType?: TopicType;
  defaultNumPartitions?: number;
}

export const AUTH_ACTIONS = ['produce', 'consume', 'functions', 'sources', 'sinks', 'packages'] as const;
export type AuthAction = (typeof AUTH_ACTIONS)[number];

export interface AuthPolicies {
  /** role → actions granted on the whole namespace. */
  namespace_auth: Record<string, AuthAction[]>;
  /** full topic name → role → actions. */
  destination_auth: Record<string, Record<string, AuthAction[]>>;
  /** subscription → roles allowed to use it (empty/absent = any role with consume). */
  subscription_auth_roles: Record<string, string[]>;
}

export interface BundlesData {
  /** Hex boundaries "0x00000000" ... "0xffffffff", numBundles + 1 of them. */
  boundaries: string[];
  numBundles: number;
}

/** The namespace document (Pulsar `Policies`). Absent optional fields inherit broker defaults. */
export interface Policies {
  auth_policies: AuthPolicies;
  replication_clusters: string[];
  bundles: BundlesData;
  backlog_quota_map: Partial<Record<BacklogQuotaType, BacklogQuota>>;
  /** Maps keyed by cluster name. */
  topicDispatchRate: Record<string, DispatchRate>;
  subscriptionDispatchRate: Record<string, DispatchRate>;
  clusterSubscribeRate: Record<string, SubscribeRate>;
  publishMaxMessageRate: Record<string, PublishRate>;
  persistence?: PersistencePolicies;
  retention_policies?: RetentionPolicies;
  deduplicationEnabled?: boolean;
  autoTopicCreationOverride?: AutoTopicCreationOverride;
  encryption_required: boolean;
  message_ttl_in_seconds?: number;
  subscription_expiration_time_minutes?: number;
  max_producers_per_topic?: number;
  max_consumers_per_topic?: number;
  max_consumers_per_subscription?: number;
  /** Bytes; -1 = offload off. */
  offload_threshold: number;
  offload_deletion_lag_ms?: number;
  subscription_auth_mode: 'None' | 'Prefix';
  deleted: boolean;
  /** Free-form namespace properties. */
  properties: Record<string, string>;
}

/** Topic-level overrides (a subset of the namespace policies, same field names). */
export interface TopicPolicies {
  retention_policies?: RetentionPolicies;
  message_ttl_in_seconds?: number;
  backlog_quota_map?: Partial<Record<BacklogQuotaType, BacklogQuota>>;
  deduplicationEnabled?: boolean;
  persistence?: PersistencePolicies;
  publishRate?: PublishRate;
  dispatchRate?: DispatchRate;
  subscriptionDispatchRate?: DispatchRate;
  subscribeRate?: SubscribeRate;
  max_producers_per_topic?: number;
  max_consumers_per_topic?: number;
}

export interface PartitionedTopicMetadata {
  /** 0 means "not partitioned". */
  partitions: number;
}

/** A version-tagged value read from the metadata store (version = etcd modRevision). */
export interface Versioned<T> {
  readonly value: T;
  readonly version: number;
}
