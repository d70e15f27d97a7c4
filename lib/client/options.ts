/**
 * Typed options of the client, producers, consumers and readers, with their defaults and bounds.
 * Defaults follow the official Pulsar clients (C++/Node where Java differs, e.g. the 10 ms batching
 * delay; see README.md). `resolve*` fills the defaults and validates every bound, throwing
 * INVALID_OPTION naming the option.
 */
import type { Logger } from '../log/index.ts';
import { clientErrors } from './errors.ts';
import type { Message } from './message.ts';
import type { MessageId } from './message-id.ts';

export const SubscriptionTypes = ['Exclusive', 'Shared', 'Failover', 'Key_Shared'] as const;
export type SubscriptionType = (typeof SubscriptionTypes)[number];
export const CompressionTypes = ['NONE', 'LZ4', 'ZLIB', 'ZSTD', 'SNAPPY'] as const;
export type CompressionName = (typeof CompressionTypes)[number];
export const AccessModes = ['Shared', 'Exclusive', 'WaitForExclusive', 'ExclusiveWithFencing'] as const;
export type AccessMode = (typeof AccessModes)[number];
export type InitialPosition = 'Latest' | 'Earliest';
export type HashingScheme = 'murmur3_32' | 'java-string';
export type RoutingMode = 'round-robin' | 'single-partition';
export type CustomRouter = (message: { key?: string }, numPartitions: number) => number;
export type RegexSubscriptionMode = 'PersistentOnly' | 'NonPersistentOnly' | 'AllTopics';

/** How the client proves its identity: a JWT (or a function returning a fresh one) sent as "token". */
export interface Authentication {
  readonly token: string | (() => string | Promise<string>);
}

export interface ClientOptions {
  /** `pulsar://host:port` or `pulsar://h1:p1,h2:p2` (binary lookup against any of them). */
  serviceUrl: string;
  authentication?: Authentication;
  /** Bound on every request (lookup, create producer, subscribe, seek, close...). Default 30 s. */
  operationTimeoutMs?: number;
  /** TCP connect + CONNECT/CONNECTED handshake. Default 10 s. */
  connectionTimeoutMs?: number;
  /** PING after this much silence; a connection silent for two intervals is closed. Default 30 s. */
  keepAliveIntervalMs?: number;
  /** Lookup redirects followed before giving up. Default 20. */
  maxLookupRedirects?: number;
  /** Reconnect backoff: first delay and cap. Defaults 100 ms and 30 s. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
}

export interface ProducerOptions {
  topic: string;
  producerName?: string;
  /** Time to wait for a receipt before failing pending sends; 0 disables. Default 30 s. */
  sendTimeoutMs?: number;
  /** Messages waiting for a receipt (batched ones included). Default 1000. */
  maxPendingMessages?: number;
  /** Limit across all partitions of a partitioned topic. Default 50000. */
  maxPendingMessagesAcrossPartitions?: number;
  /** true: `send` waits for room in the pending queue; false: fails with PRODUCER_QUEUE_FULL. */
  blockIfQueueFull?: boolean;
  batchingEnabled?: boolean;
  /** Defaults 1000 messages, 128 KiB, 10 ms. */
  batchingMaxMessages?: number;
  batchingMaxBytes?: number;
  batchingMaxPublishDelayMs?: number;
  /** 'key-based' keeps one batch per key so Key_Shared consumers see keyed entries. */
  batcherType?: 'default' | 'key-based';
  compressionType?: CompressionName;
  messageRoutingMode?: RoutingMode;
  customRouter?: CustomRouter;
  hashingScheme?: HashingScheme;
  /** First sequence id minus one; by default continues from the broker's last persisted id. */
  initialSequenceId?: number;
  accessMode?: AccessMode;
  properties?: Record<string, string>;
  initialSubscriptionName?: string;
  /** Re-check the partition count this often (0: never). Default 60 s. */
  autoUpdatePartitionsIntervalMs?: number;
}

export interface DeadLetterPolicy {
  /** Deliveries after the first before a message goes to the dead-letter topic. */
  maxRedeliverCount: number;
  /** Default `<topic>-<subscription>-DLQ`. */
  deadLetterTopic?: string;
  /** Default `<topic>-<subscription>-RETRY` (used when `retryEnabled`). */
  retryLetterTopic?: string;
  /** Subscription the broker creates on the dead-letter topic when the client first writes to it. */
  initialSubscriptionName?: string;
}

export interface KeySharedPolicy {
  mode?: 'AUTO_SPLIT' | 'STICKY';
  /** STICKY only: inclusive [start, end] ranges in [0, 65535]. */
  hashRanges?: [number, number][];
  allowOutOfOrderDelivery?: boolean;
}

export interface BatchReceivePolicy {
  /** Default 100. */
  maxNumMessages?: number;
  /** Default 10 MiB. */
  maxNumBytes?: number;
  /** Default 100 ms. */
  timeoutMs?: number;
}

export type MessageListener = (message: Message, consumer: ConsumerLike) => void | Promise<void>;

/** What a listener can do with the consumer that called it. */
export interface ConsumerLike {
  ack(message: Message | MessageId): void;
  nack(message: Message | MessageId): void;
}

export interface ConsumerOptions {
  /** One topic, several topics, or a regular expression over one namespace's topics. */
  topic?: string;
  topics?: string[];
  topicsPattern?: string;
  subscription: string;
  subscriptionType?: SubscriptionType;
  subscriptionInitialPosition?: InitialPosition;
  /** false: the subscription disappears when its last consumer leaves (like a reader). */
  durable?: boolean;
  consumerName?: string;
  /** Messages the broker may push ahead of the application; permits are refilled at half. Default 1000. */
  receiverQueueSize?: number;
  maxTotalReceiverQueueSizeAcrossPartitions?: number;
  /** Redeliver messages not acknowledged within this time; 0 disables (default). Minimum 1000. */
  ackTimeoutMs?: number;
  ackTimeoutTickMs?: number;
  /** Delay before a negatively acknowledged message is redelivered. Default 60 s. */
  negativeAckRedeliveryDelayMs?: number;
  /** Acks are grouped for this long (0: sent at once) or until maxAckGroupSize. Defaults 100 ms, 1000. */
  ackGroupTimeMs?: number;
  maxAckGroupSize?: number;
  /** Ask the broker to confirm each ack flush (ACK with request_id, ACK_RESPONSE). */
  ackReceiptEnabled?: boolean;
  /** Acknowledge single messages of a batch on the broker (ack_set) instead of whole batches. */
  batchIndexAckEnabled?: boolean;
  deadLetterPolicy?: DeadLetterPolicy;
  /** Subscribe to the retry-letter topic too and allow `reconsumeLater`. */
  retryEnabled?: boolean;
  priorityLevel?: number;
  readCompacted?: boolean;
  replicateSubscriptionState?: boolean;
  keySharedPolicy?: KeySharedPolicy;
  properties?: Record<string, string>;
  /** Pattern subscriptions: how often to look for new topics. Default 60 s. */
  patternAutoDiscoveryPeriodMs?: number;
  regexSubscriptionMode?: RegexSubscriptionMode;
  autoUpdatePartitionsIntervalMs?: number;
  listener?: MessageListener;
  batchReceivePolicy?: BatchReceivePolicy;
  /** Internal (readers): start position of a non-durable subscription. */
  startMessageId?: MessageId;
  startMessageIdInclusive?: boolean;
  startMessageRollbackDurationMs?: number;
}

export interface ReaderOptions {
  topic: string;
  /** MessageId.earliest, MessageId.latest, or an id from a previous read. */
  startMessageId: MessageId;
  startMessageIdInclusive?: boolean;
  /** Start this far back in publish time instead (overrides startMessageId). */
  startMessageRollbackDurationMs?: number;
  receiverQueueSize?: number;
  readerName?: string;
  subscriptionRolePrefix?: string;
  readCompacted?: boolean;
}

/** Check an integer option against its bounds. */
export function intOption(
  name: string,
  value: number | undefined,
  def: number,
  min: number,
  max: number,
): number {
  const v = value ?? def;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw clientErrors.make('INVALID_OPTION', {
      option: name,
      reason: `must be an integer in [${min}, ${max}], got ${String(value)}`,
    });
  }
  return v;
}

export function choiceOption<T extends string>(
  name: string,
  value: T | undefined,
  def: T,
  choices: readonly T[],
): T {
  const v = value ?? def;
  if (!choices.includes(v)) {
    throw clientErrors.make('INVALID_OPTION', {
      option: name,
      reason: `must be one of ${choices.join(', ')}, got ${String(value)}`,
    });
  }
  return v;
}

export function requireString(name: string, value: string | undefined): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw clientErrors.make('INVALID_OPTION', { option: name, reason: 'a non-empty string is required' });
  }
  return value;
}

const HOUR_MS = 3_600_000;

export interface ResolvedClientOptions {
  readonly serviceUrl: string;
  readonly authentication?: Authentication;
  readonly operationTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly keepAliveIntervalMs: number;
  readonly maxLookupRedirects: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export function resolveClientOptions(o: ClientOptions): ResolvedClientOptions {
  const initialBackoffMs = intOption('initialBackoffMs', o.initialBackoffMs, 100, 1, 60_000);
  return {
    serviceUrl: requireString('serviceUrl', o.serviceUrl),
    authentication: o.authentication,
    operationTimeoutMs: intOption('operationTimeoutMs', o.operationTimeoutMs, 30_000, 1, HOUR_MS),
    connectionTimeoutMs: intOption('connectionTimeoutMs', o.connectionTimeoutMs, 10_000, 1, HOUR_MS),
    keepAliveIntervalMs: intOption('keepAliveIntervalMs', o.keepAliveIntervalMs, 30_000, 10, HOUR_MS),
    maxLookupRedirects: intOption('maxLookupRedirects', o.maxLookupRedirects, 20, 0, 100),
    initialBackoffMs,
    maxBackoffMs: intOption('maxBackoffMs', o.maxBackoffMs, 30_000, initialBackoffMs, HOUR_MS),
  };
}
