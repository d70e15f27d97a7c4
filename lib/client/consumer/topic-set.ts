/**
 * Which topics a consumer reads, as TopicConsumers: each named topic expanded to its partitions
 * (PARTITIONED_METADATA), a pattern's matches found with GET_TOPICS_OF_NAMESPACE and re-checked
 * every patternAutoDiscoveryPeriodMs, and partition counts re-checked every
 * autoUpdatePartitionsIntervalMs so new partitions are consumed too.
 */
import {
  isTopicNameProblem,
  parseTopicName,
  partitionTopicName,
  type TopicName,
} from '../../wire/topic-name.ts';
import type { ClientContext } from '../context.ts';
import { isRetryable } from '../errors.ts';
import type { MessageId } from '../message-id.ts';
import { Backoff } from '../util/backoff.ts';
import { retryUntilDeadline } from '../util/retry.ts';
import type { ResolvedConsumerOptions } from './consumer-options.ts';
import { TopicConsumer, type TopicConsumerHooks } from './topic-consumer.ts';

export class TopicSet {
  private readonly ctx: ClientContext;
  private readonly opts: ResolvedConsumerOptions;
  private readonly hooks: TopicConsumerHooks;
  private readonly consumers = new Map<string, TopicConsumer>();
  /** Base topic → partition count (0: not partitioned). */
  private readonly bases = new Map<string, number>();
  private readonly fixedBases = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(ctx: ClientContext, opts: ResolvedConsumerOptions, hooks: TopicConsumerHooks) {
    this.ctx = ctx;
    this.opts = opts;
    this.hooks = hooks;
  }

  /** The topic without its `-partition-N` suffix. */
  static baseOf(topic: string): string {
    const t = parseTopicName(topic);
    return isTopicNameProblem(t) ? topic : t.partitionedName;
  }

  children(): TopicConsumer[] {
    return [...this.consumers.values()];
  }

  topicNames(): string[] {
    return [...this.consumers.keys()];
  }

  /** The consumer a message id belongs to. */
  childFor(id: MessageId): TopicConsumer | undefined {
    if (id.topic !== undefined) return this.consumers.get(id.topic);
    if (this.consumers.size === 1) return this.consumers.values().next().value;
    if (this.bases.size === 1 && id.partition >= 0) {
      return this.children().find((c) => c.partition === id.partition);
    }
    return undefined;
  }

  async start(extraTopics: readonly string[]): Promise<void> {
    const named = this.opts.pattern ? await this.discover() : [...this.opts.topics];
    for (const t of extraTopics) this.fixedBases.add(t);
    for (const t of this.opts.topics) this.fixedBases.add(t);
    try {
      await Promise.all([...new Set([...named, ...extraTopics])].map((t) => this.addTopic(t)));
    } catch (err) {
      await this.close();
      throw err;
    }
    if (this.opts.autoUpdatePartitionsIntervalMs > 0)
      this.every(this.opts.autoUpdatePartitionsIntervalMs, () => this.updatePartitions());
    if (this.opts.pattern) this.every(this.opts.patternAutoDiscoveryPeriodMs, () => this.rediscover());
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const t = setInterval(() => {
      void fn().catch((err: unknown) =>
        this.ctx.log.debug({ err: (err as Error).message }, 'topic update failed'),
      );
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  private partitionsOf(topic: string): Promise<number> {
    return retryUntilDeadline(() => this.ctx.lookup.partitions(topic), {
      operation: `partition lookup for ${topic}`,
      timeoutMs: this.ctx.options.operationTimeoutMs,
      backoff: new Backoff(this.ctx.options.initialBackoffMs, this.ctx.options.maxBackoffMs),
      retryable: isRetryable,
    });
  }

  private async addTopic(base: string): Promise<void> {
    if (this.bases.has(base) || this.closed) return;
    const n = await this.partitionsOf(base);
    this.bases.set(base, n);
    await this.addPartitions(base, 0, n);
  }

  private async addPartitions(base: string, from: number, to: number): Promise<void> {
    const name = parseTopicName(base) as TopicName;
    const queueSize =
      to === 0
        ? this.opts.receiverQueueSize
        : Math.max(
            1,
            Math.min(
              this.opts.receiverQueueSize,
              Math.floor(this.opts.maxTotalReceiverQueueSizeAcrossPartitions / to),
            ),
          );
    const created: TopicConsumer[] = [];
    if (to === 0) created.push(new TopicConsumer(this.ctx, this.opts, this.hooks, base, -1, queueSize));
    for (let i = from; i < to; i++) {
      created.push(
        new TopicConsumer(this.ctx, this.opts, this.hooks, partitionTopicName(name, i), i, queueSize),
      );
    }
    const results = await Promise.allSettled(created.map((c) => c.startConsumer()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      await Promise.all(created.map((c) => c.close().catch(() => undefined)));
      throw (failed as PromiseRejectedResult).reason;
    }
    if (this.closed) {
      await Promise.all(created.map((c) => c.close()));
      return;
    }
    for (const c of created) this.consumers.set(c.topic, c);
  }

  private async updatePartitions(): Promise<void> {
    for (const [base, n] of this.bases) {
      if (n === 0 || this.closed) continue;
      const now = await this.ctx.lookup.partitions(base);
      if (now > n) {
        this.bases.set(base, now);
        await this.addPartitions(base, n, now);
        this.ctx.log.info({ topic: base, partitions: now }, 'consumer added partitions');
      }
    }
  }

  /** Topics of the pattern's namespace whose (partitioned) name matches. */
  private async discover(): Promise<string[]> {
    const p = this.opts.pattern!;
    const mode =
      this.opts.regexSubscriptionMode === 'PersistentOnly'
        ? 'persistent'
        : this.opts.regexSubscriptionMode === 'NonPersistentOnly'
          ? 'non-persistent'
          : 'all';
    const topics = await this.ctx.lookup.topicsOfNamespace(p.namespace, mode);
    const out = new Set<string>();
    for (const t of topics) {
      const base = TopicSet.baseOf(t);
      if (p.regex.test(base)) out.add(base);
    }
    return [...out];
  }

  private async rediscover(): Promise<void> {
    if (this.closed) return;
    const found = new Set(await this.discover());
    for (const t of found) if (!this.bases.has(t)) await this.addTopic(t);
    for (const base of [...this.bases.keys()]) {
      if (found.has(base) || this.fixedBases.has(base)) continue;
      this.bases.delete(base);
      for (const c of this.children()) {
        if (TopicSet.baseOf(c.topic) === base) {
          this.consumers.delete(c.topic);
          await c.close();
        }
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all(this.children().map((c) => c.close()));
  }
}
