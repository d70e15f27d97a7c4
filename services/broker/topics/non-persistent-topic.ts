/**
 * A non-persistent topic (`non-persistent://...`): messages live only in memory while they are
 * handed to the consumers connected at publish time (best effort: no storage, no redelivery, no
 * backlog). A message id is (incarnation, sequence): the incarnation is the topic's load time, so
 * ids stay unique across reloads. Subscriptions disappear with their last consumer.
 */
import type { MessageId } from '../../../lib/wire/message-id.ts';
import type { TopicName } from '../../../lib/wire/topic-name.ts';
import { brokerErrors } from '../errors.ts';
import type { TopicPolicies } from '../policies.ts';
import type { SubscriptionStats, TopicStats } from '../service.ts';
import { Consumer } from '../subscriptions/consumer.ts';
import { NonPersistentSubscription } from '../subscriptions/non-persistent-subscription.ts';
import { slotOf } from './entries.ts';
import { TrafficMeter } from './rates.ts';
import { TopicBase, type TopicLimits } from './topic-base.ts';
import type {
  AddProducerResult,
  AttachedConsumer,
  ConsumerChannel,
  ProducerEndpoint,
  PublishOutcome,
  PublishRequest,
  SubscribeRequest,
  Topic,
  PolicyCheck,
  TopicCounters,
} from './topic.ts';

export class NonPersistentTopic extends TopicBase implements Topic {
  readonly persistent = false;
  private readonly incarnation: number;
  private nextEntryId = 0;
  private readonly subscriptions = new Map<string, NonPersistentSubscription>();
  private readonly out = new TrafficMeter();

  constructor(name: TopicName, limits: TopicLimits, incarnation = Date.now()) {
    super(name, limits);
    this.incarnation = incarnation;
  }

  async addProducer(p: ProducerEndpoint): Promise<AddProducerResult> {
    const ready = this.admitProducer(p);
    return { lastSequenceId: -1, ready };
  }

  async publish(p: ProducerEndpoint, req: PublishRequest): Promise<PublishOutcome> {
    this.checkOpen();
    if (!this.isActiveProducer(p))
      throw brokerErrors.make('PRODUCER_NOT_READY', { producerId: String(p.producerId) });
    this.publishArrived(req.numMessages, req.entry.byteLength);
    const entryId = this.nextEntryId++;
    this.countIn(p, req.numMessages, req.entry.byteLength);
    const offer = {
      id: { ledgerId: this.incarnation, entryId, partition: this.name.partitionIndex },
      entry: req.entry,
      numMessages: req.numMessages,
      slot: slotOf(req.facts),
    };
    for (const sub of this.subscriptions.values()) {
      if (sub.offer(offer)) this.out.add(req.numMessages, req.entry.byteLength);
    }
    return { kind: 'stored', ledgerId: this.incarnation, entryId };
  }

  async subscribe(req: SubscribeRequest, channel: ConsumerChannel): Promise<AttachedConsumer> {
    this.checkOpen();
    let sub = this.subscriptions.get(req.subscription);
    if (sub && sub.type !== req.type) {
      throw brokerErrors.make('CONSUMER_BUSY', {
        subscription: req.subscription,
        reason: `of type ${sub.type}, not ${req.type}`,
      });
    }
    if (!sub && this.subscriptions.size >= this.limits.maxSubscriptions) {
      throw brokerErrors.make('TOO_MANY_REQUESTS', {
        what: 'subscriptions per topic',
        max: this.limits.maxSubscriptions,
      });
    }
    this.checkConsumerLimits(sub);
    this.subscribeGate.admit(channel.client.address, req.consumerName);
    const created = !sub;
    sub ??= new NonPersistentSubscription(
      req.subscription,
      req.type,
      this.name.partitionIndex,
      req.keySharedMode,
    );
    const consumer = new Consumer(channel, req.consumerName, req.priority, req.metadata);
    const refused = sub.add(consumer, req.stickyRanges);
    if (refused)
      throw brokerErrors.make(refused.code, { subscription: req.subscription, reason: refused.reason });
    if (created) this.subscriptions.set(req.subscription, sub);
    return this.attachment(sub, consumer);
  }

  counters(): TopicCounters {
    return this.countersOf(this.subscriptions.values(), this.out);
  }

  /**
   * Limits, publish and subscribe rates apply live. Dispatch rates do not apply: a non-persistent
   * topic cannot delay messages without dropping them.
   */
  async applyPolicies(policies: TopicPolicies, limits: TopicLimits): Promise<void> {
    this.applyCommonPolicies(policies, limits);
  }

  /** No backlog, no stored messages, no durable subscriptions: nothing to check. */
  async checkPolicies(_check: PolicyCheck, _nowMs: number): Promise<void> {}

  subscriptionNames(): string[] {
    return [...this.subscriptions.keys()];
  }

  async lastMessageId(): Promise<MessageId> {
    return {
      ledgerId: this.nextEntryId === 0 ? -1 : this.incarnation,
      entryId: this.nextEntryId - 1,
      partition: this.name.partitionIndex,
      batchIndex: -1,
    };
  }

  async stats(): Promise<TopicStats> {
    const subscriptions: Record<string, SubscriptionStats> = {};
    for (const name of this.subscriptions.keys()) subscriptions[name] = this.subscriptionStats(name)!;
    return {
      msgRateIn: this.in.msgs.rate(),
      msgRateOut: this.out.msgs.rate(),
      msgThroughputIn: this.in.bytes.rate(),
      msgThroughputOut: this.out.bytes.rate(),
      msgInCounter: this.in.msgs.total,
      bytesInCounter: this.in.bytes.total,
      msgOutCounter: this.out.msgs.total,
      bytesOutCounter: this.out.bytes.total,
      averageMsgSize: this.in.msgs.total > 0 ? this.in.bytes.total / this.in.msgs.total : 0,
      storageSize: 0,
      backlogSize: 0,
      msgDropRate: [...this.subscriptions.values()].reduce((n, s) => n + s.dropped.rate(), 0),
      publishers: this.publisherStats(),
      subscriptions,
      replication: {},
      deduplicationStatus: 'Disabled',
    };
  }

  subscriptionStats(name: string): SubscriptionStats | undefined {
    const sub = this.subscriptions.get(name);
    if (!sub) return undefined;
    const ranges = sub.keyRanges();
    const consumers = sub
      .allConsumers()
      .map((c) =>
        c.stats(
          { permits: sub.permitsOf(c), unackedMessages: 0, blockedOnUnacked: false, pendingEntries: 0 },
          ranges?.get(c.id),
        ),
      );
    return {
      msgRateOut: consumers.reduce((n, c) => n + c.msgRateOut, 0),
      msgThroughputOut: consumers.reduce((n, c) => n + c.msgThroughputOut, 0),
      bytesOutCounter: consumers.reduce((n, c) => n + c.bytesOutCounter, 0),
      msgOutCounter: consumers.reduce((n, c) => n + c.msgOutCounter, 0),
      msgRateRedeliver: 0,
      msgBacklog: 0,
      backlogSize: 0,
      msgDelayed: 0,
      unackedMessages: 0,
      blockedSubscriptionOnUnackedMsgs: false,
      type: sub.type,
      activeConsumerName: sub.activeConsumerName(),
      isDurable: false,
      isReplicated: false,
      lastExpireTimestamp: 0,
      lastConsumedTimestamp: Math.max(0, ...sub.allConsumers().map((c) => c.lastConsumedTimestamp)),
      lastAckedTimestamp: Math.max(0, ...sub.allConsumers().map((c) => c.lastAckedTimestamp)),
      consumers,
      subscriptionProperties: {},
    };
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeProducers();
    for (const sub of this.subscriptions.values()) {
      for (const c of sub.allConsumers()) {
        sub.remove(c);
        c.channel.closeByBroker();
      }
    }
    this.subscriptions.clear();
  }

  private checkConsumerLimits(sub: NonPersistentSubscription | undefined): void {
    let total = 0;
    for (const s of this.subscriptions.values()) total += s.consumerCount;
    if (total >= this.limits.maxConsumers) {
      throw brokerErrors.make('TOO_MANY_CONSUMERS', {
        scope: `topic ${this.name.full}`,
        count: total,
        max: this.limits.maxConsumers,
      });
    }
    if (sub && sub.consumerCount >= this.limits.maxConsumersPerSubscription) {
      throw brokerErrors.make('TOO_MANY_CONSUMERS', {
        scope: `subscription ${sub.name}`,
        count: sub.consumerCount,
        max: this.limits.maxConsumersPerSubscription,
      });
    }
  }

  private attachment(sub: NonPersistentSubscription, consumer: Consumer): AttachedConsumer {
    const remove = () => {
      sub.remove(consumer);
      if (sub.consumerCount === 0 && this.subscriptions.get(sub.name) === sub)
        this.subscriptions.delete(sub.name);
    };
    return {
      subscriptionName: sub.name,
      subscriptionType: sub.type,
      flow: (permits) => sub.flow(consumer, permits),
      ack: async () => {
        consumer.lastAckedTimestamp = Date.now();
      },
      redeliver: () => {},
      detach: async () => remove(),
      unsubscribe: async () => {
        if (sub.consumerCount > 1) {
          throw brokerErrors.make('SUBSCRIPTION_BUSY', {
            subscription: sub.name,
            count: sub.consumerCount - 1,
          });
        }
        remove();
      },
      seek: async () => {
        throw brokerErrors.make('NOT_SUPPORTED_ON_TOPIC', { operation: 'seek', kind: 'non-persistent' });
      },
      lastMessageId: async () => ({ last: await this.lastMessageId() }),
      stats: () =>
        consumer.stats({
          permits: sub.permitsOf(consumer),
          unackedMessages: 0,
          blockedOnUnacked: false,
          pendingEntries: 0,
        }),
      backlog: () => 0,
    };
  }
}
