/**
 * BrokerService: the broker's internal interface for the admin REST API (services/broker/admin)
 * and other in-process users (standalone mode, tests). Topic names are accepted in any form
 * `parseTopicName` accepts (short names are normalised). Errors are `brokerErrors` (or
 * managed-ledger errors) with stable codes; each carries an `http` status for the REST layer.
 *
 * Stats objects use Pulsar's admin API field names (TopicStats, PublisherStats,
 * SubscriptionStats, ConsumerStats) so they can be returned as JSON unchanged.
 */
import type { MessageId } from '../../lib/wire/message-id.ts';

export interface PublisherStats {
  msgRateIn: number;
  msgThroughputIn: number;
  averageMsgSize: number;
  producerId: number;
  producerName: string;
  accessMode: 'Shared' | 'Exclusive' | 'WaitForExclusive' | 'ExclusiveWithFencing';
  address: string;
  connectedSince: string;
  clientVersion: string;
  metadata: Record<string, string>;
}

export interface ConsumerStats {
  msgRateOut: number;
  msgThroughputOut: number;
  bytesOutCounter: number;
  msgOutCounter: number;
  msgRateRedeliver: number;
  consumerName: string;
  availablePermits: number;
  unackedMessages: number;
  blockedConsumerOnUnackedMsgs: boolean;
  address: string;
  connectedSince: string;
  clientVersion: string;
  lastAckedTimestamp: number;
  lastConsumedTimestamp: number;
  metadata: Record<string, string>;
  /** Key_Shared only: inclusive hash ranges as "[start, end]" strings. */
  keyHashRanges?: string[];
}

export interface SubscriptionStats {
  msgRateOut: number;
  msgThroughputOut: number;
  bytesOutCounter: number;
  msgOutCounter: number;
  msgRateRedeliver: number;
  msgBacklog: number;
  backlogSize: number;
  msgDelayed: number;
  unackedMessages: number;
  blockedSubscriptionOnUnackedMsgs: boolean;
  type: 'Exclusive' | 'Shared' | 'Failover' | 'Key_Shared';
  activeConsumerName?: string;
  isDurable: boolean;
  isReplicated: boolean;
  lastExpireTimestamp: number;
  lastConsumedTimestamp: number;
  lastAckedTimestamp: number;
  consumers: ConsumerStats[];
  subscriptionProperties: Record<string, string>;
}

export interface TopicStats {
  msgRateIn: number;
  msgRateOut: number;
  msgThroughputIn: number;
  msgThroughputOut: number;
  msgInCounter: number;
  bytesInCounter: number;
  msgOutCounter: number;
  bytesOutCounter: number;
  averageMsgSize: number;
  storageSize: number;
  backlogSize: number;
  /** Non-persistent topics: messages dropped because no consumer could take them. */
  msgDropRate?: number;
  publishers: PublisherStats[];
  subscriptions: Record<string, SubscriptionStats>;
  replication: Record<string, never>;
  deduplicationStatus: 'Enabled' | 'Disabled';
  topicEpoch?: number;
}

/** A message read back for peek / examine (admin "peek messages"). */
export interface PeekedMessage {
  readonly messageId: MessageId;
  /** Serialized MessageMetadata. */
  readonly metadata: Uint8Array;
  /** Payload after the metadata (a batch payload when the metadata says so; maybe compressed). */
  readonly payload: Uint8Array;
}

export interface LookupResult {
  readonly brokerUrl: string;
  readonly httpUrl: string;
  /** True when this broker owns (or would own) the topic. */
  readonly local: boolean;
}

export interface BrokerInfo {
  readonly brokerId: string;
  readonly clusterName: string;
  readonly brokerServiceUrl: string;
  readonly webServiceUrl: string;
  readonly startedAtMs: number;
}

export interface BrokerService {
  readonly info: BrokerInfo;

  /** Where the topic is served (binary + HTTP URLs). */
  lookup(topic: string): Promise<LookupResult>;

  /** Topics known in a namespace (`tenant/ns`): stored persistent ones plus loaded non-persistent ones. */
  listTopics(namespace: string, domain?: 'persistent' | 'non-persistent'): Promise<string[]>;
  /** Topics currently loaded (served) by this broker. */
  listLoadedTopics(): string[];
  /** Create a non-partitioned topic (TOPIC_EXISTS-like conflicts: resolves when it exists). */
  createTopic(topic: string): Promise<void>;
  /** Delete a topic. Without `force`, fails with SUBSCRIPTION_BUSY/PRODUCER_NAME_BUSY while clients are attached. */
  deleteTopic(topic: string, force: boolean): Promise<void>;
  /** Partition count of a partitioned topic (0 = not partitioned). */
  getPartitions(topic: string): Promise<number>;
  /** Close every producer and consumer (they reconnect) and release the topic. */
  unloadTopic(topic: string): Promise<void>;
  /** Unload every loaded topic of a namespace. */
  unloadNamespace(namespace: string): Promise<void>;
  /** No more writes ever; returns the last message id. */
  terminateTopic(topic: string): Promise<MessageId>;
  getLastMessageId(topic: string): Promise<MessageId>;

  topicStats(topic: string): Promise<TopicStats>;
  /** Storage-level stats (ledgers, cursors) as the managed ledger reports them. */
  internalStats(topic: string): Promise<unknown>;

  listSubscriptions(topic: string): Promise<string[]>;
  /** Create a durable subscription at a position ('latest' | 'earliest' | a message id). */
  createSubscription(
    topic: string,
    subscription: string,
    at: 'latest' | 'earliest' | MessageId,
  ): Promise<void>;
  /** Delete a subscription; with `force` its consumers are disconnected first. */
  deleteSubscription(topic: string, subscription: string, force: boolean): Promise<void>;
  skipMessages(topic: string, subscription: string, count: number): Promise<void>;
  clearBacklog(topic: string, subscription: string): Promise<void>;
  /** Reset to the first message published at or after `timestampMs`; consumers reconnect. */
  resetCursorByTime(topic: string, subscription: string, timestampMs: number): Promise<void>;
  /** Reset to a message id (that message is delivered next); consumers reconnect. */
  resetCursorToMessageId(topic: string, subscription: string, id: MessageId): Promise<void>;
  /** Acknowledge messages published more than `seconds` ago. */
  expireMessages(topic: string, subscription: string, seconds: number): Promise<void>;
  /** The next `count` unacknowledged messages of a subscription, without consuming them. */
  peekMessages(topic: string, subscription: string, count: number): Promise<PeekedMessage[]>;
  /** One stored message by id. */
  getMessageById(topic: string, ledgerId: number, entryId: number): Promise<PeekedMessage>;
  /** Evaluate every loaded topic against its backlog quotas now (admin backlog-quota-check). */
  checkBacklogQuotas(): Promise<void>;
}
