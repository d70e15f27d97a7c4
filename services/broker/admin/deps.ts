/**
 * What the admin API needs from the process that mounts it. The multi-tenancy and security parts
 * (PolicyStore, AuthenticationService, AuthorizationService) are always there; the data-path and
 * cluster parts are hooks the broker / coordinator implement:
 *  - TopicAdminOps: topics, stats, subscriptions, peek, unload, terminate (broker data path);
 *  - OwnershipHook: who owns a topic (307 redirects, lookups) — default: this broker owns all;
 *  - BundleHook: bundle boundaries, unload, split — default: the namespace document's bundles;
 *  - BrokerRegistry: active brokers, leader, owned namespaces — default: this broker alone.
 */
import type { AuthenticationService } from '../../../lib/auth/authenticate.ts';
import type { AuthorizationService } from '../../../lib/auth/authorize.ts';
import type { SplitRequest } from '../../../lib/cluster/bundle-range.ts';
import type { Logger } from '../../../lib/log/index.ts';
import type { NamespaceName, TopicDomain, TopicName } from '../../../lib/policies/names.ts';
import type { PolicyStore } from '../../../lib/policies/store.ts';
import type { BundlesData } from '../../../lib/policies/types.ts';
import type { PersistentTopicInternalStats, TopicStats } from './stats.ts';

/** Admin JSON MessageId. */
export interface MessageIdData {
  ledgerId: number;
  entryId: number;
  partitionIndex?: number;
  batchIndex?: number;
}

export type StartPosition = 'earliest' | 'latest' | MessageIdData;

export interface PeekedMessage {
  /** The message payload. */
  readonly payload: Uint8Array;
  readonly messageId: MessageIdData;
  readonly publishTimeMs: number;
  readonly eventTimeMs?: number;
  readonly producerName?: string;
  readonly sequenceId?: number;
  readonly key?: string;
  readonly properties: Record<string, string>;
  readonly redeliveryCount?: number;
}

/**
 * The broker's data-path operations for admin. Errors: throw adminErrors codes
 * (TOPIC_NOT_FOUND, TOPIC_EXISTS, TOPIC_IN_USE, SUBSCRIPTION_NOT_FOUND, SUBSCRIPTION_EXISTS,
 * SUBSCRIPTION_IN_USE) or any registry error with an http status.
 */
export interface TopicAdminOps {
  /** Full names of the existing non-partitioned topics and partitions of a namespace. */
  listTopics(ns: NamespaceName, domain: TopicDomain): Promise<string[]>;
  topicExists(topic: TopicName): Promise<boolean>;
  createTopic(topic: TopicName, properties: Record<string, string>): Promise<void>;
  /** 412 TOPIC_IN_USE when producers/consumers are connected and not `force`. */
  deleteTopic(topic: TopicName, force: boolean): Promise<void>;
  stats(topic: TopicName): Promise<TopicStats>;
  internalStats(topic: TopicName): Promise<PersistentTopicInternalStats>;
  listSubscriptions(topic: TopicName): Promise<string[]>;
  createSubscription(topic: TopicName, subscription: string, start: StartPosition): Promise<void>;
  deleteSubscription(topic: TopicName, subscription: string, force: boolean): Promise<void>;
  skipMessages(topic: TopicName, subscription: string, count: number): Promise<void>;
  skipAllMessages(topic: TopicName, subscription: string): Promise<void>;
  resetCursorToTime(topic: TopicName, subscription: string, timestampMs: number): Promise<void>;
  resetCursorToMessageId(
    topic: TopicName,
    subscription: string,
    id: MessageIdData,
    excluded: boolean,
  ): Promise<void>;
  expireMessages(topic: TopicName, subscription: string, olderThanSeconds: number): Promise<void>;
  /** The n-th (1-based) message after the subscription's mark-delete position. */
  peekMessage(topic: TopicName, subscription: string, position: number): Promise<PeekedMessage>;
  unloadTopic(topic: TopicName): Promise<void>;
  /** Seal the topic; returns the last message id. */
  terminateTopic(topic: TopicName): Promise<MessageIdData>;
  /** Evaluate the backlog quotas of this broker's topics now (GET /brokers/backlog-quota-check). */
  checkBacklogQuotas?(): Promise<void>;
}

export type Ownership = { readonly local: true } | { readonly local: false; readonly httpUrl: string };

export interface LookupData {
  brokerUrl: string;
  brokerUrlTls?: string;
  httpUrl: string;
  httpUrlTls?: string;
  nativeUrl: string;
}

export interface OwnershipHook {
  /** Where admin requests for this topic must run. */
  ownerOf(topic: TopicName): Promise<Ownership>;
  /** Lookup answer for a topic (acquiring ownership if nobody owns it). */
  lookup(topic: TopicName, authoritative: boolean): Promise<LookupData>;
}

export interface BundleHook {
  /** Current bundles of a namespace (after splits). */
  bundles(ns: NamespaceName): Promise<BundlesData>;
  /** Unload (cluster: release to `destinationBroker` when given, else to the least loaded). */
  unloadBundle(ns: NamespaceName, bundle: string, destinationBroker?: string): Promise<void>;
  /** Split; returns the new bundles. `unload` also unloads the children. */
  splitBundle(ns: NamespaceName, bundle: string, req: SplitRequest, unload: boolean): Promise<BundlesData>;
  /** Called after a namespace is created with these bundles (cluster: store boundaries). */
  namespaceCreated?(ns: NamespaceName, bundles: BundlesData): Promise<void>;
  /** Called after a namespace is deleted (cluster: drop boundaries and bundle records). */
  namespaceDeleted?(ns: NamespaceName): Promise<void>;
}

export interface OwnedBundleStatus {
  broker_assignment: 'primary' | 'secondary' | 'shared';
  is_controlled: boolean;
  is_active: boolean;
}

export interface BrokerRegistry {
  /** Active broker ids ("host:port" of their web service, as Pulsar lists them). */
  activeBrokers(cluster: string): Promise<string[]>;
  leader(): Promise<{ serviceUrl: string; brokerId: string } | undefined>;
  /** bundle name "tenant/ns/0x.._0x.." → status. */
  ownedNamespaces(cluster: string, brokerId: string): Promise<Record<string, OwnedBundleStatus>>;
}

export interface BrokerIdentity {
  /** This broker's id, e.g. "127.0.0.1:8080". */
  brokerId: string;
  /** http://host:port of this broker's web service. */
  webServiceUrl: string;
  /** pulsar://host:port of this broker's binary protocol. */
  brokerServiceUrl: string;
}

export interface AdminLimits {
  /** Largest accepted request body. */
  maxBodyBytes: number;
  /** Most messages one peek may ask for (position bound). */
  maxPeekPosition: number;
  /** Longest wait for a partition's owner when a partitioned-topic operation runs there (default 60 s). */
  forwardTimeoutMs?: number;
}

export interface AdminDeps {
  policies: PolicyStore;
  authn: AuthenticationService;
  authz: AuthorizationService;
  identity: BrokerIdentity;
  limits: AdminLimits;
  log?: Logger;
  topics?: TopicAdminOps;
  ownership?: OwnershipHook;
  bundles?: BundleHook;
  brokers?: BrokerRegistry;
  /** Undefined when ready, else why not. */
  readiness?: () => string | undefined;
  /** End-to-end health check (produce/consume); throws when unhealthy. */
  healthCheck?: () => Promise<void>;
}
