/**
 * What the protocol layer sees of a topic, and what a topic sees of the clients attached to it.
 * Two implementations: NonPersistentTopic (memory, best effort) and PersistentTopic (managed
 * ledger). The connection implements the client-facing ends (ProducerEndpoint, ConsumerChannel).
 */
import type { MessageId } from '../../../lib/wire/message-id.ts';
import type { EntryFacts } from '../../../lib/wire/metadata.ts';
import type { TopicName } from '../../../lib/wire/topic-name.ts';
import type { ConsumerStats, PublisherStats, SubscriptionStats, TopicStats } from '../service.ts';
import type { SubscriptionType } from '../subscriptions/types.ts';
import type { TopicPolicies } from '../policies.ts';
import type { TopicLimits } from './topic-base.ts';

export type PolicyCheck = 'backlog-quota' | 'message-ttl' | 'subscription-expiry';

export type AccessMode = 'Shared' | 'Exclusive' | 'WaitForExclusive' | 'ExclusiveWithFencing';
export const ACCESS_MODES: readonly AccessMode[] = [
  'Shared',
  'Exclusive',
  'WaitForExclusive',
  'ExclusiveWithFencing',
];

/** Facts about the client side of an attachment (stats, ownership checks). */
export interface ClientInfo {
  readonly connectionId: number;
  readonly address: string;
  readonly clientVersion: string;
  readonly protocolVersion: number;
  readonly connectedSince: string;
  /** False once the connection is gone (a stale attachment may be replaced). */
  readonly alive: boolean;
}

/** A producer as a topic knows it. */
export interface ProducerEndpoint {
  /** Broker-wide unique id. */
  readonly id: number;
  readonly producerId: bigint;
  readonly name: string;
  /** True when the broker generated the name. */
  readonly generatedName: boolean;
  readonly accessMode: AccessMode;
  readonly metadata: Readonly<Record<string, string>>;
  readonly client: ClientInfo;
  /** The broker closes the producer (CLOSE_PRODUCER; the client reconnects). */
  closeByBroker(): void;
  /** Publish rate: stop (true) or resume (false) reading this producer's connection. */
  throttle(paused: boolean): void;
  /** Stats of this producer (rates filled by the topic). */
  stats(): PublisherStats;
}

export interface AddProducerResult {
  /** Highest sequence id persisted for this producer name (dedup), else −1. */
  readonly lastSequenceId: number;
  /** For WaitForExclusive: resolves when the producer becomes the exclusive one. */
  readonly ready?: Promise<void>;
}

export interface PublishRequest {
  /** The stored form: payload section from the checksum magic on (an owned copy). */
  readonly entry: Buffer;
  /** Routing facts from the entry's metadata (decoded once at SEND). */
  readonly facts: EntryFacts;
  readonly sequenceId: number;
  readonly highestSequenceId: number;
  readonly numMessages: number;
}

export type PublishOutcome =
  | { readonly kind: 'stored'; readonly ledgerId: number; readonly entryId: number }
  | { readonly kind: 'duplicate' };

/** The client-facing end of one consumer (implemented by the connection). */
export interface ConsumerChannel {
  readonly consumerId: bigint;
  readonly client: ClientInfo;
  /** Queue a MESSAGE frame. */
  sendMessage(
    id: { ledgerId: number; entryId: number; partition: number },
    entry: Buffer,
    redeliveryCount: number,
    ackSet?: readonly bigint[],
  ): void;
  sendActiveConsumerChange(isActive: boolean): void;
  sendReachedEndOfTopic(): void;
  /** The broker detaches the consumer (CLOSE_CONSUMER; the client resubscribes). */
  closeByBroker(): void;
  /** False while the socket has too many unsent bytes. */
  readonly writable: boolean;
  /** Be told when `writable` changes; returns the unsubscribe function. */
  onWritabilityChange(listener: (writable: boolean) => void): () => void;
}

export interface SubscribeRequest {
  readonly subscription: string;
  readonly type: SubscriptionType;
  readonly consumerName: string;
  readonly priority: number;
  readonly durable: boolean;
  readonly initialPosition: 'Latest' | 'Earliest';
  /** Readers (non-durable) and reset-on-subscribe: start after this id (Pulsar semantics). */
  readonly startMessageId?: MessageId;
  readonly startRollbackDurationSec: number;
  readonly keySharedMode: 'auto-split' | 'sticky';
  readonly stickyRanges?: readonly (readonly [number, number])[];
  readonly allowOutOfOrder: boolean;
  readonly metadata: Readonly<Record<string, string>>;
  readonly subscriptionProperties: Readonly<Record<string, string>>;
  readonly replicated: boolean;
}

export interface AckRequest {
  readonly type: 'individual' | 'cumulative';
  readonly ids: readonly {
    readonly ledgerId: number;
    readonly entryId: number;
    readonly batchIndex: number;
    /** Words of the remaining (still unacked) set, when a batch-index ack. */
    readonly ackSet?: readonly bigint[];
    readonly batchSize?: number;
  }[];
}

export type SeekTarget = { readonly messageId: MessageId } | { readonly publishTimeMs: number };

/** One consumer attached to a subscription, as the connection drives it. */
export interface AttachedConsumer {
  readonly subscriptionName: string;
  readonly subscriptionType: SubscriptionType;
  flow(permits: number): void;
  ack(req: AckRequest): Promise<void>;
  /** Redeliver those ids (Shared/Key_Shared), or everything unacked (all types, or empty list). */
  redeliver(ids?: readonly { ledgerId: number; entryId: number }[]): void;
  /** Client closed it or the connection dropped: unacked messages become redeliverable. */
  detach(): Promise<void>;
  /** Delete the subscription; fails with SUBSCRIPTION_BUSY if other consumers are attached. */
  unsubscribe(): Promise<void>;
  /** Reset the subscription; every consumer of it is disconnected (and resubscribes). */
  seek(target: SeekTarget): Promise<void>;
  lastMessageId(): Promise<{ last: MessageId; markDelete?: MessageId }>;
  stats(): ConsumerStats;
  /** Unacknowledged entries of the subscription (CONSUMER_STATS msgBacklog). */
  backlog(): number;
}

export interface TopicCounters {
  readonly producers: number;
  readonly consumers: number;
  readonly msgRateIn: number;
  readonly msgRateOut: number;
  readonly bytesInPerSec: number;
  readonly bytesOutPerSec: number;
}

/** Topic counters summed over several topics (the broker's load report, per broker and per bundle). */
export class CounterSum implements TopicCounters {
  topics = 0;
  producers = 0;
  consumers = 0;
  msgRateIn = 0;
  msgRateOut = 0;
  bytesInPerSec = 0;
  bytesOutPerSec = 0;

  add(c: TopicCounters): void {
    this.topics++;
    this.producers += c.producers;
    this.consumers += c.consumers;
    this.msgRateIn += c.msgRateIn;
    this.msgRateOut += c.msgRateOut;
    this.bytesInPerSec += c.bytesInPerSec;
    this.bytesOutPerSec += c.bytesOutPerSec;
  }
}

export interface Topic {
  readonly name: TopicName;
  readonly persistent: boolean;
  /** True once closed (unloaded/deleted); attachments then fail with TOPIC_CLOSED. */
  readonly closed: boolean;

  addProducer(p: ProducerEndpoint): Promise<AddProducerResult>;
  removeProducer(p: ProducerEndpoint): void;
  publish(p: ProducerEndpoint, req: PublishRequest): Promise<PublishOutcome>;

  subscribe(req: SubscribeRequest, channel: ConsumerChannel): Promise<AttachedConsumer>;
  subscriptionNames(): string[];

  lastMessageId(): Promise<MessageId>;
  stats(): Promise<TopicStats>;
  subscriptionStats(name: string): SubscriptionStats | undefined;

  /** Policies changed while the topic is loaded (only some apply live). */
  applyPolicies(policies: TopicPolicies, limits: TopicLimits): Promise<void>;

  /** One periodic policy check (backlog quotas, message TTL, subscription expiry) as of `nowMs`. */
  checkPolicies(check: PolicyCheck, nowMs: number): Promise<void>;

  /** Cheap totals for load reports. */
  counters(): TopicCounters;

  /** Disconnect every client (CLOSE_PRODUCER / CLOSE_CONSUMER) and release resources. */
  close(): Promise<void>;
}
