/**
 * The topics this broker serves: loads each at most once (concurrent loads share one promise),
 * enforces existence / auto-creation / partition rules, and unloads. Persistent topics come from
 * a `PersistentTopicFactory` (managed ledgers); without one, persistent topics are refused with
 * STORAGE_UNAVAILABLE and only non-persistent topics work.
 */
import type { Logger } from '../../../lib/log/index.ts';
import type { TopicName } from '../../../lib/wire/topic-name.ts';
import type { BrokerConfig } from '../config.ts';
import { brokerErrors } from '../errors.ts';
import type { TopicOwnership } from '../ownership.ts';
import type { PolicyProvider, TopicPolicies } from '../policies.ts';
import { NonPersistentTopic } from './non-persistent-topic.ts';
import { type TopicLimits, topicLimits } from './topic-base.ts';
import type { PolicyCheck, Topic } from './topic.ts';

export interface PersistentTopicFactory {
  /** True when the topic's storage exists. */
  exists(name: TopicName): Promise<boolean>;
  /** Open (creating if needed) and return the served topic. */
  open(name: TopicName, policies: TopicPolicies, limits: TopicLimits): Promise<Topic>;
  /** Full names of the persistent topics stored in a namespace. */
  list(tenant: string, namespace: string): Promise<string[]>;
  /**
   * Delete a topic's storage (it must not be loaded). Deleting opens it (fencing any writer), so
   * it is opened with the topic's own persistence policies.
   */
  delete(name: TopicName, policies: TopicPolicies): Promise<void>;
}

export interface GetTopicOptions {
  /** Create the topic when missing and policy allows (PRODUCER/SUBSCRIBE); false for admin reads. */
  readonly create: boolean;
  /** Create even when auto-creation is off (admin "create topic"). */
  readonly explicit?: boolean;
}

export class TopicRegistry {
  private readonly config: BrokerConfig;
  private readonly policies: PolicyProvider;
  private readonly persistentFactory: PersistentTopicFactory | undefined;
  private readonly log: Logger;
  private readonly loaded = new Map<string, Topic>();
  private readonly loading = new Map<string, Promise<Topic>>();
  private closing = false;
  private ownership: TopicOwnership | undefined;
  /** Since when each loaded topic has had no producer and no consumer. */
  private readonly idleSince = new Map<string, number>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly policyTimers: NodeJS.Timeout[] = [];
  private readonly checksRunning = new Set<PolicyCheck>();

  constructor(
    config: BrokerConfig,
    policies: PolicyProvider,
    log: Logger,
    persistentFactory?: PersistentTopicFactory,
  ) {
    this.config = config;
    this.policies = policies;
    this.log = log;
    this.persistentFactory = persistentFactory;
  }

  /** Start unloading idle topics (checked every tenth of the idle limit). */
  startIdleSweeper(): void {
    const limit = this.config.inactiveTopicUnloadMs;
    if (limit <= 0 || this.sweeper) return;
    this.sweeper = setInterval(() => void this.sweepIdle(Date.now()), Math.max(100, Math.floor(limit / 10)));
    this.sweeper.unref();
  }

  /** Start the periodic policy checks (backlog quotas, message TTL, subscription expiry). */
  startPolicyChecks(): void {
    if (this.policyTimers.length > 0) return;
    const c = this.config;
    const every: [PolicyCheck, number][] = [
      ['backlog-quota', c.backlogQuotaCheckIntervalMs],
      ['message-ttl', c.messageExpiryCheckIntervalMs],
      ['subscription-expiry', c.subscriptionExpiryCheckIntervalMs],
    ];
    for (const [check, ms] of every) {
      const t = setInterval(() => {
        // One pass of a kind at a time: a slow pass is not stacked up by the next tick.
        if (this.checksRunning.has(check)) return;
        this.checksRunning.add(check);
        void this.checkPolicies(check, Date.now()).finally(() => this.checksRunning.delete(check));
      }, ms);
      t.unref();
      this.policyTimers.push(t);
    }
  }

  /** Run one policy check on every loaded topic as of `nowMs` (also the admin/test entry point). */
  async checkPolicies(check: PolicyCheck, nowMs: number): Promise<void> {
    for (const t of this.loadedTopics()) {
      try {
        await t.checkPolicies(check, nowMs);
      } catch (err) {
        this.log.warn({ err, topic: t.name.full, check }, 'policy check failed');
      }
    }
  }

  /** Unload topics idle (no producer, no consumer) for longer than `inactiveTopicUnloadMs`. */
  async sweepIdle(nowMs: number): Promise<number> {
    const idle: string[] = [];
    for (const [name, topic] of this.loaded) {
      const c = topic.counters();
      if (c.producers > 0 || c.consumers > 0) {
        this.idleSince.delete(name);
        continue;
      }
      const since = this.idleSince.get(name);
      if (since === undefined) this.idleSince.set(name, nowMs);
      else if (nowMs - since >= this.config.inactiveTopicUnloadMs) idle.push(name);
    }
    await Promise.allSettled(idle.map((n) => this.unload(n)));
    return idle.length;
  }

  /** From now on, topics load only when this broker owns their bundle. */
  setOwnership(ownership: TopicOwnership): void {
    this.ownership = ownership;
  }

  /** Re-resolve the policies of the loaded topics that match and apply them (policy change). */
  async refreshPolicies(match: (name: TopicName) => boolean): Promise<void> {
    const targets = this.loadedTopics().filter((t) => match(t.name));
    await Promise.allSettled(
      targets.map(async (t) => {
        try {
          const policies = await this.policies.topicPolicies(t.name);
          await t.applyPolicies(policies, topicLimits(policies, this.config));
        } catch (err) {
          this.log.warn({ err, topic: t.name.full }, 'applying changed policies failed');
        }
      }),
    );
  }

  /**
   * Unload every topic whose name matches (a released bundle), including those still loading:
   * a load that passed its ownership check just before the bundle began releasing would
   * otherwise finish after this and serve a topic the broker no longer owns. Loads that start
   * later fail their ownership check.
   */
  async unloadWhere(match: (full: string) => boolean): Promise<void> {
    const loading = [...this.loading].filter(([name]) => match(name)).map(([, p]) => p);
    await Promise.allSettled(loading);
    const names = [...this.loaded.keys()].filter(match);
    await Promise.allSettled(names.map((n) => this.unload(n)));
  }

  get hasStorage(): boolean {
    return this.persistentFactory !== undefined;
  }

  loadedTopic(full: string): Topic | undefined {
    const t = this.loaded.get(full);
    return t && !t.closed ? t : undefined;
  }

  loadedTopics(): Topic[] {
    return [...this.loaded.values()].filter((t) => !t.closed);
  }

  async getTopic(name: TopicName, opts: GetTopicOptions): Promise<Topic> {
    if (this.closing) throw brokerErrors.make('SERVICE_NOT_READY', { state: 'shutting down' });
    const existing = this.loadedTopic(name.full);
    if (existing) return existing;
    let pending = this.loading.get(name.full);
    if (!pending) {
      pending = this.load(name, opts).finally(() => this.loading.delete(name.full));
      this.loading.set(name.full, pending);
    }
    return pending;
  }

  /** Does the topic exist (loaded, stored, or a partition of a partitioned topic)? */
  async exists(name: TopicName): Promise<boolean> {
    if (this.loadedTopic(name.full)) return true;
    if (name.partitionIndex >= 0) {
      const n = await this.policies.partitions(name);
      if (n !== undefined && name.partitionIndex < n) return true;
    }
    if (name.domain === 'non-persistent' || !this.persistentFactory) return false;
    return this.persistentFactory.exists(name);
  }

  async unload(full: string): Promise<void> {
    const t = this.loaded.get(full);
    this.idleSince.delete(full);
    if (!t) return;
    this.loaded.delete(full);
    await t.close();
  }

  /** Close every topic (broker shutdown). */
  async closeAll(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    for (const t of this.policyTimers) clearInterval(t);
    await Promise.allSettled([...this.loading.values()]);
    const all = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.allSettled(all.map((t) => t.close()));
  }

  async listPersistent(tenant: string, namespace: string): Promise<string[]> {
    return this.persistentFactory ? this.persistentFactory.list(tenant, namespace) : [];
  }

  async deleteStorage(name: TopicName): Promise<void> {
    if (name.domain === 'persistent' && this.persistentFactory)
      await this.persistentFactory.delete(name, await this.policies.topicPolicies(name));
  }

  private async load(name: TopicName, opts: GetTopicOptions): Promise<Topic> {
    if (this.ownership) await this.ownership.checkOwnership(name.full);
    await this.checkPartitioning(name);
    if (this.loaded.size >= this.config.maxTopicsLoaded) {
      throw brokerErrors.make('TOO_MANY_REQUESTS', {
        what: 'loaded topics',
        max: this.config.maxTopicsLoaded,
      });
    }
    const exists = await this.exists(name);
    if (!exists) {
      if (!opts.explicit) {
        const auto = opts.create ? await this.policies.autoCreation(name) : { allowed: false as const };
        if (!auto.allowed || auto.partitions > 0)
          throw brokerErrors.make('TOPIC_NOT_FOUND', { topic: name.full });
      }
    }
    const policies = await this.policies.topicPolicies(name);
    const limits: TopicLimits = topicLimits(policies, this.config);
    let topic: Topic;
    if (name.domain === 'non-persistent') {
      topic = new NonPersistentTopic(name, limits);
      await topic.applyPolicies(policies, limits);
    } else {
      if (!this.persistentFactory) throw brokerErrors.make('STORAGE_UNAVAILABLE');
      topic = await this.persistentFactory.open(name, policies, limits);
    }
    if (this.closing) {
      await topic.close();
      throw brokerErrors.make('SERVICE_NOT_READY', { state: 'shutting down' });
    }
    this.loaded.set(name.full, topic);
    this.log.info({ topic: name.full }, 'topic loaded');
    return topic;
  }

  /** A partitioned topic is used through its partitions; partitions must be in range. */
  private async checkPartitioning(name: TopicName): Promise<void> {
    if (name.partitionIndex < 0) {
      const n = await this.policies.partitions(name);
      if (n !== undefined && n > 0) {
        throw brokerErrors.make('PARTITIONED_TOPIC_DIRECT_ACCESS', { topic: name.full, partitions: n });
      }
      return;
    }
    const n = await this.policies.partitions(name);
    if (n !== undefined && name.partitionIndex >= n) {
      throw brokerErrors.make('PARTITION_OUT_OF_RANGE', {
        topic: name.partitionedName,
        partitions: n,
        index: name.partitionIndex,
      });
    }
  }
}
