/**
 * The public Producer: one PartitionProducer for a plain topic, or one per partition of a
 * partitioned topic with a router choosing among them (router.ts). The partition count is
 * re-read every autoUpdatePartitionsIntervalMs and producers are added for new partitions.
 */
import { parseTopicName, partitionTopicName, type TopicName } from '../../wire/topic-name.ts';
import type { ClientContext } from '../context.ts';
import { clientErrors, isRetryable } from '../errors.ts';
import type { OutgoingMessage } from '../message.ts';
import type { MessageId } from '../message-id.ts';
import type { ProducerOptions } from '../options.ts';
import { Backoff } from '../util/backoff.ts';
import { retryUntilDeadline, withTimeout } from '../util/retry.ts';
import type { SendCallback } from './batch-builder.ts';
import { PartitionProducer } from './partition-producer.ts';
import { type ResolvedProducerOptions, resolveProducerOptions } from './producer-options.ts';
import { type PartitionRouter, RoundRobinRouter, SinglePartitionRouter } from './router.ts';

export class Producer {
  readonly topic: string;
  private readonly ctx: ClientContext;
  private readonly opts: ResolvedProducerOptions;
  private readonly name: TopicName;
  private children: PartitionProducer[] = [];
  private partitioned = false;
  private router: PartitionRouter | undefined;
  private updateTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(ctx: ClientContext, opts: ResolvedProducerOptions) {
    this.ctx = ctx;
    this.opts = opts;
    this.topic = opts.topic;
    this.name = parseTopicName(opts.topic) as TopicName;
  }

  /** Resolve the partition count and connect every partition producer. */
  static async create(ctx: ClientContext, options: ProducerOptions): Promise<Producer> {
    const producer = new Producer(ctx, resolveProducerOptions(options));
    await producer.start();
    return producer;
  }

  private async start(): Promise<void> {
    const partitions = await retryUntilDeadline(() => this.ctx.lookup.partitions(this.topic), {
      operation: `partition lookup for ${this.topic}`,
      timeoutMs: this.ctx.options.operationTimeoutMs,
      backoff: new Backoff(this.ctx.options.initialBackoffMs, this.ctx.options.maxBackoffMs),
      retryable: isRetryable,
    });
    this.partitioned = partitions > 0;
    if (!this.partitioned) {
      this.children = [this.newChild(this.topic, -1, 1)];
    } else {
      this.children = Array.from({ length: partitions }, (_, i) =>
        this.newChild(partitionTopicName(this.name, i), i, partitions),
      );
      const start = Math.floor(Math.random() * partitions);
      this.router =
        this.opts.routingMode === 'single-partition'
          ? new SinglePartitionRouter(this.opts.hashingScheme, start)
          : new RoundRobinRouter(
              this.opts.hashingScheme,
              start,
              this.opts.batchingEnabled,
              10 * this.opts.batchingMaxPublishDelayMs,
            );
    }
    const results = await Promise.allSettled(this.children.map((c) => c.start()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      await Promise.all(this.children.map((c) => c.close().catch(() => undefined)));
      throw (failed as PromiseRejectedResult).reason;
    }
    if (this.partitioned && this.opts.autoUpdatePartitionsIntervalMs > 0) {
      this.updateTimer = setInterval(
        () => void this.updatePartitions(),
        this.opts.autoUpdatePartitionsIntervalMs,
      );
      this.updateTimer.unref();
    }
  }

  private newChild(topic: string, partition: number, partitions: number): PartitionProducer {
    const maxPending = this.partitioned
      ? Math.max(
          1,
          Math.min(
            this.opts.maxPendingMessages,
            Math.floor(this.opts.maxPendingMessagesAcrossPartitions / partitions),
          ),
        )
      : this.opts.maxPendingMessages;
    return new PartitionProducer(this.ctx, this.opts, topic, partition, maxPending);
  }

  private async updatePartitions(): Promise<void> {
    if (this.closed) return;
    try {
      const n = await this.ctx.lookup.partitions(this.topic);
      if (n <= this.children.length || this.closed) return;
      const added: PartitionProducer[] = [];
      for (let i = this.children.length; i < n; i++)
        added.push(this.newChild(partitionTopicName(this.name, i), i, n));
      await Promise.all(added.map((c) => c.start()));
      this.children = [...this.children, ...added];
      this.ctx.log.info({ topic: this.topic, partitions: n }, 'producer added partitions');
    } catch (err) {
      this.ctx.log.debug({ topic: this.topic, err: (err as Error).message }, 'partition update failed');
    }
  }

  get producerName(): string {
    return this.children[0]?.producerName ?? '';
  }

  /** Partitions of the topic (0 when not partitioned). */
  get numPartitions(): number {
    return this.partitioned ? this.children.length : 0;
  }

  /** Messages accepted and not yet acknowledged by the broker. */
  get pendingMessages(): number {
    let n = 0;
    for (const c of this.children) n += c.pendingMessages;
    return n;
  }

  /** Highest sequence id assigned so far (the largest over partitions). */
  get lastSequenceId(): number {
    return Math.max(...this.children.map((c) => c.lastSequenceId));
  }

  isConnected(): boolean {
    return this.children.every((c) => c.isConnected);
  }

  private route(msg: OutgoingMessage): PartitionProducer {
    if (!this.partitioned) return this.children[0];
    const n = this.children.length;
    const index = this.opts.customRouter ? this.opts.customRouter(msg, n) : this.router!.choose(msg.key, n);
    const child = this.children[index];
    if (!child) {
      throw clientErrors.make('INVALID_OPTION', {
        option: 'customRouter',
        reason: `returned ${index} for ${n} partitions`,
      });
    }
    return child;
  }

  /**
   * Send and resolve with the message id once the broker has stored it. With blockIfQueueFull
   * this waits (up to operationTimeoutMs) for room in the pending queue.
   */
  async send(msg: OutgoingMessage): Promise<MessageId> {
    const child = this.route(msg);
    if (this.opts.blockIfQueueFull && !child.hasCapacity()) {
      const timeoutMs = this.ctx.options.operationTimeoutMs;
      const waiting = `waiting for room to send on ${this.topic}`;
      const deadline = Date.now() + timeoutMs;
      // Several senders may wake for one free slot, so the check and the send must happen in the
      // same synchronous step after each wake-up.
      while (!child.hasCapacity() && !child.isFinished()) {
        const left = deadline - Date.now();
        if (left <= 0) throw clientErrors.make('TIMEOUT', { operation: waiting, timeoutMs });
        await withTimeout(child.waitForCapacity(), left, waiting);
      }
    }
    return new Promise<MessageId>((resolve, reject) => {
      child.sendAsync(msg, (err, id) => (err ? reject(err) : resolve(id!)));
    });
  }

  /**
   * Queue a message without a promise (the fast path): `callback` gets the id or the error. A
   * full queue fails the message with PRODUCER_QUEUE_FULL; see `waitForCapacity`.
   */
  sendAsync(msg: OutgoingMessage, callback?: SendCallback): void {
    let child: PartitionProducer;
    try {
      child = this.route(msg);
    } catch (err) {
      if (callback) process.nextTick(callback, err as Error, undefined);
      return;
    }
    child.sendAsync(msg, callback);
  }

  /** Resolves when every partition producer has room for at least one more message. */
  async waitForCapacity(): Promise<void> {
    await Promise.all(this.children.map((c) => c.waitForCapacity()));
  }

  /** Send open batches and wait until every message accepted so far is acknowledged. */
  async flush(): Promise<void> {
    await Promise.all(this.children.map((c) => c.flush()));
  }

  /** Flush what is queued (bounded by operationTimeoutMs) and close on the broker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.updateTimer) clearInterval(this.updateTimer);
    await Promise.all(this.children.map((c) => c.close()));
  }
}
