/**
 * A persistent topic: one managed ledger, its subscriptions (one cursor each), producer dedup.
 * SEND_RECEIPT comes only after the managed ledger confirmed the entry (Qa fsyncs, earlier
 * entries confirmed); the stored entry is the producer's payload section, byte for byte.
 *
 * Dedup (when the policy enables it): DedupState decides; the persisted map is snapshotted into
 * the mark-delete properties of the `pulsar.dedup` cursor every `brokerDeduplicationEntriesInterval`
 * entries, on a timer, and on close; on load the snapshot is restored and every entry after it
 * replayed, so a producer that resends after a broker crash creates no duplicates.
 */
import type { Logger } from '../../../lib/log/index.ts';
import { RateLimiter } from '../../../lib/policies/rate-limiter.ts';
import type { MessageId } from '../../../lib/wire/message-id.ts';
import type { TopicName } from '../../../lib/wire/topic-name.ts';
import type { BrokerConfig } from '../config.ts';
import { brokerErrors } from '../errors.ts';
import type { ManagedCursor, ManagedLedger, Position } from '../managed-ledger/api.ts';
import type { TopicPolicies } from '../policies.ts';
import type { SubscriptionStats, TopicStats } from '../service.ts';
import { Consumer } from '../subscriptions/consumer.ts';
import {
  PersistentSubscription,
  type SubscriptionSettings,
} from '../subscriptions/persistent-subscription.ts';
import { BacklogGuard } from './backlog-guard.ts';
import { DedupState } from './dedup.ts';
import { factsOf, firstPublishedAtOrAfter, lastStoredPosition } from './entries.ts';
import { attachPersistentConsumer, subscriptionStatsOf } from './persistent-attachment.ts';
import { backlogSourceOf, expireByTtl, expireIdleSubscriptions } from './persistent-policies.ts';
import { TrafficMeter } from './rates.ts';
import { TopicBase, type TopicLimits } from './topic-base.ts';
import type {
  AddProducerResult,
  AttachedConsumer,
  ConsumerChannel,
  PolicyCheck,
  ProducerEndpoint,
  PublishOutcome,
  PublishRequest,
  SubscribeRequest,
  Topic,
  TopicCounters,
} from './topic.ts';

export const DEDUP_CURSOR = 'pulsar.dedup';
const DEDUP_REPLAY_BATCH = 100;

export class PersistentTopic extends TopicBase implements Topic {
  readonly persistent = true;
  readonly ml: ManagedLedger;
  readonly config: BrokerConfig;
  readonly log: Logger;
  readonly subscriptions = new Map<string, PersistentSubscription>();
  private readonly opening = new Map<string, Promise<PersistentSubscription>>();
  readonly out = new TrafficMeter();
  readonly settings: SubscriptionSettings;
  /** The policies in force (load, then every change). */
  policies: TopicPolicies;
  readonly backlog: BacklogGuard;
  /** Topic-wide dispatch rate, shared by the subscriptions' read loops. */
  readonly dispatchLimiter = new RateLimiter({ msgs: 0, bytes: 0, periodMs: 1000 });
  private dedup: DedupState | undefined;
  private dedupCursor: ManagedCursor | undefined;
  private lastPersisted: Position | undefined;
  private entriesSinceSnapshot = 0;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private readonly stopWatchingMl: () => void;
  /** Called once when the topic closes (the registry forgets it). */
  onClosed: (() => void) | undefined;

  private constructor(
    name: TopicName,
    limits: TopicLimits,
    ml: ManagedLedger,
    config: BrokerConfig,
    log: Logger,
    policies: TopicPolicies,
  ) {
    super(name, limits);
    this.ml = ml;
    this.config = config;
    this.log = log;
    this.policies = policies;
    this.backlog = new BacklogGuard(backlogSourceOf(this));
    this.settings = {
      maxReadBatch: config.dispatcherMaxReadBatchSize,
      roundRobinBatch: config.dispatcherMaxRoundRobinBatchSize,
      maxUnackedPerConsumer: config.maxUnackedMessagesPerConsumer,
      maxUnackedPerSubscription: config.maxUnackedMessagesPerSubscription,
      maxReplayEntries: config.maxReplayEntriesPerSubscription,
      failoverDelayMs: config.activeConsumerFailoverDelayMs,
      delayedTickMs: config.delayedDeliveryTickMs,
      maxDelayedEntries: config.delayedDeliveryMaxTrackedEntries,
      readRetryBackoffMs: config.readRetryBackoffMs,
    };
    this.stopWatchingMl = ml.onStateChange((state, reason) => {
      if (state === 'Fenced' || state === 'Closed' || state === 'Deleted') {
        this.log.warn(
          { topic: name.full, state, reason: reason?.message },
          'managed ledger left service; closing topic',
        );
        void this.close();
      }
    });
  }

  /** Open a loaded managed ledger as a served topic: durable subscriptions and dedup state recovered. */
  static async load(
    name: TopicName,
    ml: ManagedLedger,
    policies: TopicPolicies,
    limits: TopicLimits,
    config: BrokerConfig,
    log: Logger,
  ): Promise<PersistentTopic> {
    const topic = new PersistentTopic(name, limits, ml, config, log, policies);
    for (const cursor of ml.cursors()) {
      if (!cursor.durable || cursor.name === DEDUP_CURSOR) continue;
      topic.subscriptions.set(cursor.name, topic.newSubscription(cursor.name, 'Exclusive', cursor));
    }
    topic.applyRates(policies, limits);
    await topic.setupDedup(policies.deduplicationEnabled);
    return topic;
  }

  get deduplicationEnabled(): boolean {
    return this.dedup !== undefined;
  }

  newSubscription(
    name: string,
    type: SubscriptionStats['type'],
    cursor: ManagedCursor,
  ): PersistentSubscription {
    const sub = new PersistentSubscription(
      name,
      type,
      cursor,
      {
        partitionIndex: this.name.partitionIndex,
        log: this.log,
        terminated: () => this.ml.state === 'Terminated',
        countOut: (msgs, bytes) => this.out.add(msgs, bytes),
        dispatchLimiter: this.dispatchLimiter,
        cursorMoved: () => this.backlog.evaluate(Date.now()),
      },
      this.settings,
    );
    sub.setDispatchRate(this.policies.subscriptionDispatchRate);
    return sub;
  }

  async addProducer(p: ProducerEndpoint): Promise<AddProducerResult> {
    if (this.ml.state === 'Terminated')
      throw brokerErrors.make('TOPIC_TERMINATED', { topic: this.name.full });
    this.backlog.admitProducer(Date.now());
    const ready = this.admitProducer(p);
    return { lastSequenceId: this.dedup ? this.dedup.lastPersisted(p.name) : -1, ready };
  }

  async publish(p: ProducerEndpoint, req: PublishRequest): Promise<PublishOutcome> {
    this.checkOpen();
    if (!this.isActiveProducer(p))
      throw brokerErrors.make('PRODUCER_NOT_READY', { producerId: String(p.producerId) });
    if (this.ml.state === 'Terminated')
      throw brokerErrors.make('TOPIC_TERMINATED', { topic: this.name.full });
    this.publishArrived(req.numMessages, req.entry.byteLength);
    const held = this.backlog.beforePublish();
    if (held) {
      await held;
      this.checkOpen();
      // A producer that left while its send was held gets nothing stored (no receipt went out).
      if (!this.isActiveProducer(p))
        throw brokerErrors.make('PRODUCER_NOT_READY', { producerId: String(p.producerId) });
    }
    const dedup = this.dedup;
    if (dedup) {
      const verdict = dedup.check(p.name, req.sequenceId, req.highestSequenceId, Date.now());
      if (verdict === 'duplicate') return { kind: 'duplicate' };
      if (verdict === 'unknown') {
        throw brokerErrors.make('DEDUP_STATUS_UNKNOWN', { sequenceId: req.sequenceId, producer: p.name });
      }
    }
    let position: Position;
    try {
      position = await this.ml.append(req.entry);
    } catch (err) {
      dedup?.persistFailed(p.name);
      throw err;
    }
    if (dedup && this.dedup === dedup) {
      dedup.persistedOk(p.name, Math.max(req.sequenceId, req.highestSequenceId));
      this.lastPersisted = position;
      if (++this.entriesSinceSnapshot >= this.config.brokerDeduplicationEntriesInterval) this.snapshotDedup();
    }
    this.countIn(p, req.numMessages, req.entry.byteLength);
    this.backlog.evaluate(Date.now());
    return { kind: 'stored', ledgerId: position.ledgerId, entryId: position.entryId };
  }

  async subscribe(req: SubscribeRequest, channel: ConsumerChannel): Promise<AttachedConsumer> {
    this.checkOpen();
    this.subscribeGate.admit(channel.client.address, req.consumerName);
    const sub = await this.subscriptionFor(req);
    this.checkOpen();
    let total = 0;
    for (const s of this.subscriptions.values()) total += s.consumerCount;
    if (total >= this.limits.maxConsumers) {
      throw brokerErrors.make('TOO_MANY_CONSUMERS', {
        scope: `topic ${this.name.full}`,
        count: total,
        max: this.limits.maxConsumers,
      });
    }
    if (sub.consumerCount >= this.limits.maxConsumersPerSubscription) {
      throw brokerErrors.make('TOO_MANY_CONSUMERS', {
        scope: `subscription ${sub.name}`,
        count: sub.consumerCount,
        max: this.limits.maxConsumersPerSubscription,
      });
    }
    const consumer = new Consumer(channel, req.consumerName, req.priority, req.metadata);
    const added = sub.addConsumer(consumer, req);
    if (!added.ok) {
      await this.dropIfUnused(sub);
      throw brokerErrors.make(added.code, { subscription: req.subscription, reason: added.reason });
    }
    return attachPersistentConsumer(this, sub, consumer);
  }

  /** The subscription a SUBSCRIBE names, creating its cursor when new (concurrent creates share one). */
  private async subscriptionFor(req: SubscribeRequest): Promise<PersistentSubscription> {
    const existing = this.subscriptions.get(req.subscription);
    if (existing) return existing;
    let pending = this.opening.get(req.subscription);
    if (!pending) {
      if (this.subscriptions.size + this.opening.size >= this.limits.maxSubscriptions) {
        throw brokerErrors.make('TOO_MANY_REQUESTS', {
          what: 'subscriptions per topic',
          max: this.limits.maxSubscriptions,
        });
      }
      pending = this.openSubscription(req).finally(() => this.opening.delete(req.subscription));
      this.opening.set(req.subscription, pending);
    }
    return pending;
  }

  private async openSubscription(req: SubscribeRequest): Promise<PersistentSubscription> {
    const start = await this.startPosition(req);
    const cursor = await this.ml.openCursor(req.subscription, {
      durable: req.durable,
      initialPosition: start,
      cursorProperties: req.subscriptionProperties,
    });
    const sub = this.newSubscription(req.subscription, req.type, cursor);
    this.subscriptions.set(req.subscription, sub);
    return sub;
  }

  /** Where a new cursor starts: readers' start id (Pulsar: after it; a batch's own entry), rollback, or the initial position. */
  private async startPosition(req: SubscribeRequest): Promise<'Earliest' | 'Latest' | Position> {
    if (req.startRollbackDurationSec > 0) {
      const p = await firstPublishedAtOrAfter(this.ml, Date.now() - req.startRollbackDurationSec * 1000);
      return p ?? 'Latest';
    }
    const id = req.startMessageId;
    if (!id) return req.initialPosition;
    if (id.ledgerId < 0 || id.entryId < 0) return 'Earliest';
    if (id.ledgerId >= 2 ** 62) return 'Latest';
    const at = { ledgerId: id.ledgerId, entryId: id.entryId };
    return id.batchIndex >= 0 ? at : this.ml.nextPosition(at);
  }

  /** A non-durable subscription disappears with its last consumer. */
  async dropIfUnused(sub: PersistentSubscription): Promise<void> {
    if (sub.consumerCount > 0 || sub.cursor.durable) return;
    await this.removeSubscription(sub);
  }

  async removeSubscription(sub: PersistentSubscription): Promise<void> {
    if (this.subscriptions.get(sub.name) === sub) this.subscriptions.delete(sub.name);
    await sub.close();
    if (this.ml.getCursor(sub.name) === sub.cursor) await this.ml.deleteCursor(sub.name);
    this.backlog.evaluate(Date.now());
  }

  counters(): TopicCounters {
    return this.countersOf(this.subscriptions.values(), this.out);
  }

  subscriptionNames(): string[] {
    return [...this.subscriptions.keys()];
  }

  async lastMessageId(): Promise<MessageId> {
    const last = lastStoredPosition(this.ml);
    if (!last)
      return {
        ledgerId: this.ml.lastConfirmedPosition.ledgerId,
        entryId: -1,
        partition: this.name.partitionIndex,
        batchIndex: -1,
      };
    const [entry] = await this.ml.readEntries(last, { maxEntries: 1 });
    const facts = entry ? factsOf(entry.data) : undefined;
    const batchIndex = facts?.batched ? Math.max(0, facts.numMessages - 1) : -1;
    return { ...last, partition: this.name.partitionIndex, batchIndex };
  }

  async stats(): Promise<TopicStats> {
    const subscriptions: Record<string, SubscriptionStats> = {};
    let backlogSize = 0;
    for (const [name, sub] of this.subscriptions) {
      subscriptions[name] = subscriptionStatsOf(sub);
      backlogSize += subscriptions[name].backlogSize;
    }
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
      storageSize: this.ml.totalSizeBytes,
      backlogSize,
      publishers: this.publisherStats(),
      subscriptions,
      replication: {},
      deduplicationStatus: this.dedup ? 'Enabled' : 'Disabled',
    };
  }

  subscriptionStats(name: string): SubscriptionStats | undefined {
    const sub = this.subscriptions.get(name);
    return sub ? subscriptionStatsOf(sub) : undefined;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.stopWatchingMl();
    clearInterval(this.snapshotTimer);
    this.backlog.close(brokerErrors.make('TOPIC_CLOSED', { topic: this.name.full }));
    this.closeProducers();
    await Promise.allSettled([...this.subscriptions.values()].map((s) => s.close()));
    if (this.ml.state === 'Open' || this.ml.state === 'Terminated') {
      await this.persistDedupSnapshot().catch((err: unknown) =>
        this.log.warn({ err, topic: this.name.full }, 'dedup snapshot failed'),
      );
      await this.ml
        .close()
        .catch((err: unknown) =>
          this.log.warn({ err, topic: this.name.full }, 'managed ledger close failed'),
        );
    }
    this.onClosed?.();
  }

  /**
   * Policies changed while loaded: limits, rates, backlog quotas, TTL and subscription expiry
   * apply at once; E/Qw/Qa to the next ledger; retention to the next trim (started now).
   */
  async applyPolicies(policies: TopicPolicies, limits: TopicLimits): Promise<void> {
    if (this.isClosed) return;
    this.policies = policies;
    this.applyRates(policies, limits);
    try {
      this.ml.updateConfig({
        ensembleSize: policies.ensembleSize,
        writeQuorum: policies.writeQuorum,
        ackQuorum: policies.ackQuorum,
        retentionTimeMs: policies.retentionTimeMs,
        retentionSizeBytes: policies.retentionSizeBytes,
      });
    } catch (err) {
      this.log.warn({ err, topic: this.name.full }, 'storage policy refused; keeping the previous one');
    }
    await this.switchDedup(policies);
  }

  async checkPolicies(check: PolicyCheck, nowMs: number): Promise<void> {
    if (this.isClosed) return;
    if (check === 'backlog-quota') await this.backlog.checkAll(nowMs);
    else if (check === 'message-ttl') await expireByTtl(this, nowMs);
    else await expireIdleSubscriptions(this, nowMs);
  }

  private applyRates(policies: TopicPolicies, limits: TopicLimits): void {
    this.applyCommonPolicies(policies, limits);
    this.dispatchLimiter.update(policies.dispatchRate);
    for (const sub of this.subscriptions.values()) sub.setDispatchRate(policies.subscriptionDispatchRate);
    this.backlog.setQuotas(policies.backlogQuotas, Date.now());
  }

  /**
   * Entries published while dedup is being switched on are not yet tracked (as in Pulsar, the
   * state starts from the moment it is enabled).
   */
  private async switchDedup(policies: TopicPolicies): Promise<void> {
    if (this.isClosed || policies.deduplicationEnabled === (this.dedup !== undefined)) return;
    if (!policies.deduplicationEnabled) {
      await this.persistDedupSnapshot().catch(() => undefined);
      this.dedup = undefined;
      this.dedupCursor = undefined;
      clearInterval(this.snapshotTimer);
    }
    await this.setupDedup(policies.deduplicationEnabled);
    this.log.info(
      { topic: this.name.full, deduplication: policies.deduplicationEnabled },
      'deduplication switched',
    );
  }

  /** Turn dedup on (recovering its state) or off (dropping its cursor). */
  private async setupDedup(enabled: boolean): Promise<void> {
    if (!enabled) {
      if (this.ml.getCursor(DEDUP_CURSOR)) await this.ml.deleteCursor(DEDUP_CURSOR);
      return;
    }
    const cursor = await this.ml.openCursor(DEDUP_CURSOR, { durable: true });
    const state = new DedupState(
      this.config.brokerDeduplicationMaxNumberOfProducers,
      this.config.brokerDeduplicationProducerInactivityMs,
    );
    const now = Date.now();
    state.restore(cursor.properties, now);
    let replayed = 0;
    for (;;) {
      const entries = await cursor.readEntries(DEDUP_REPLAY_BATCH);
      if (entries.length === 0) break;
      for (const e of entries) {
        const f = factsOf(e.data);
        if (f) state.recordStored(f.producerName, Math.max(f.sequenceId, f.highestSequenceId), now);
        this.lastPersisted = e.position;
        replayed++;
      }
    }
    this.dedup = state;
    this.dedupCursor = cursor;
    this.log.info(
      { topic: this.name.full, producers: state.producerCount, replayed },
      'dedup state recovered',
    );
    this.snapshotTimer = setInterval(() => {
      state.purge(Date.now());
      if (this.entriesSinceSnapshot > 0) this.snapshotDedup();
    }, this.config.brokerDeduplicationSnapshotIntervalMs);
    this.snapshotTimer.unref();
  }

  private snapshotDedup(): void {
    this.persistDedupSnapshot().catch((err: unknown) =>
      this.log.warn({ err, topic: this.name.full }, 'dedup snapshot failed'),
    );
  }

  private async persistDedupSnapshot(): Promise<void> {
    if (!this.dedup || !this.dedupCursor || !this.lastPersisted) return;
    this.entriesSinceSnapshot = 0;
    await this.dedupCursor.markDelete(this.lastPersisted, this.dedup.snapshot());
  }
}
