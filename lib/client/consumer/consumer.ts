/**
 * The public Consumer: one TopicConsumer per topic partition it reads (a plain topic, every
 * partition of a partitioned topic, several topics, a pattern's matches, plus the retry topic when
 * retries are on), all feeding one receive queue. Messages are taken with `receive`,
 * `batchReceive`, `for await`, or a listener; acks are routed back by the message's topic.
 */
import type { ClientContext } from '../context.ts';
import { clientErrors } from '../errors.ts';
import type { Message } from '../message.ts';
import type { MessageId } from '../message-id.ts';
import type { ConsumerLike, ConsumerOptions } from '../options.ts';
import { type ResolvedConsumerOptions, resolveConsumerOptions } from './consumer-options.ts';
import { LetterProducers } from './letter-producers.ts';
import { ReceiveQueue } from './receive-queue.ts';
import type { TopicConsumer } from './topic-consumer.ts';
import { TopicSet } from './topic-set.ts';

export class Consumer implements ConsumerLike {
  readonly subscription: string;
  private readonly ctx: ClientContext;
  private readonly opts: ResolvedConsumerOptions;
  private readonly queue: ReceiveQueue;
  private readonly letters: LetterProducers;
  private readonly topicSet: TopicSet;
  private closed = false;

  private constructor(ctx: ClientContext, opts: ResolvedConsumerOptions) {
    this.ctx = ctx;
    this.opts = opts;
    this.subscription = opts.subscription;
    this.queue = new ReceiveQueue((m) => (m.origin as TopicConsumer).delivered(m));
    this.letters = new LetterProducers(ctx, opts);
    this.topicSet = new TopicSet(ctx, opts, {
      queue: this.queue,
      deadLetter: opts.deadLetterPolicy
        ? (messages, topic) => this.letters.deadLetter(messages, this.letterBase(topic))
        : undefined,
    });
  }

  static async subscribe(ctx: ClientContext, options: ConsumerOptions): Promise<Consumer> {
    const consumer = new Consumer(ctx, resolveConsumerOptions(options));
    const extra = consumer.opts.retryEnabled ? [consumer.letters.retryTopic(consumer.primaryTopic())] : [];
    await consumer.topicSet.start(extra);
    if (consumer.opts.listener) void consumer.runListener();
    return consumer;
  }

  /** The topic retry and dead-letter names derive from when retries are on (the first topic). */
  private primaryTopic(): string {
    return this.opts.topics[0] ?? this.opts.pattern!.source;
  }

  private letterBase(topic: string): string {
    return this.opts.retryEnabled ? this.primaryTopic() : TopicSet.baseOf(topic);
  }

  /** The topics (partitions) currently consumed. */
  get topics(): string[] {
    return this.topicSet.topicNames();
  }

  // ---- receiving

  /** The next message; with timeoutMs, fails with TIMEOUT if none arrives in time. */
  receive(timeoutMs?: number): Promise<Message> {
    if (this.opts.listener) {
      return Promise.reject(
        clientErrors.make('NOT_SUPPORTED', { operation: 'receive', reason: 'the consumer has a listener' }),
      );
    }
    return this.queue.receive(timeoutMs);
  }

  /** Messages per the batch receive policy: up to maxNumMessages/maxNumBytes or what came within timeoutMs. */
  batchReceive(): Promise<Message[]> {
    const p = this.opts.batchReceive;
    return this.queue.batchReceive(p.maxNumMessages, p.maxNumBytes, p.timeoutMs);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    for (;;) {
      let m: Message;
      try {
        m = await this.receive();
      } catch (err) {
        if (this.closed) return;
        throw err;
      }
      yield m;
    }
  }

  private async runListener(): Promise<void> {
    const listener = this.opts.listener!;
    while (!this.closed) {
      let m: Message;
      try {
        m = await this.queue.receive();
      } catch {
        return;
      }
      try {
        await listener(m, this);
      } catch (err) {
        this.ctx.log.warn({ err: (err as Error).message, topic: m.topic }, 'message listener failed');
      }
    }
  }

  // ---- acknowledging

  private child(id: MessageId): TopicConsumer {
    const child = this.topicSet.childFor(id);
    if (!child) {
      throw clientErrors.make('INVALID_MESSAGE_ID', {
        id: id.toString(),
        reason: 'it does not belong to a topic of this consumer',
      });
    }
    return child;
  }

  private idOf(m: Message | MessageId): MessageId {
    return 'messageId' in m ? m.messageId : m;
  }

  /** Acknowledge one message (grouped with others for up to ackGroupTimeMs). */
  ack(message: Message | MessageId): void {
    const id = this.idOf(message);
    this.child(id).ack(id);
  }

  /** Acknowledge and send at once; with ackReceiptEnabled, resolves when the broker confirmed. */
  async acknowledge(message: Message | MessageId): Promise<void> {
    const id = this.idOf(message);
    const child = this.child(id);
    child.ack(id);
    await child.flushAcks();
  }

  /** Acknowledge this message and every earlier one of its topic (Exclusive/Failover only). */
  ackCumulative(message: Message | MessageId): void {
    const id = this.idOf(message);
    this.child(id).ackCumulative(id);
  }

  /** Have the message redelivered after negativeAckRedeliveryDelayMs (or dead-lettered when exhausted). */
  nack(message: Message | MessageId): void {
    const id = this.idOf(message);
    this.child(id).nack(id);
  }

  /** Retry later through the retry-letter topic (needs retryEnabled); acknowledges the original. */
  async reconsumeLater(
    message: Message,
    delayMs: number,
    properties?: Record<string, string>,
  ): Promise<void> {
    if (!this.opts.retryEnabled) {
      throw clientErrors.make('NOT_SUPPORTED', {
        operation: 'reconsumeLater',
        reason: 'the consumer was created without retryEnabled',
      });
    }
    await this.letters.retry(message, this.letterBase(message.topic), delayMs, properties);
    this.ack(message);
  }

  /** Send every acknowledgement still grouped. */
  async flushAcks(): Promise<void> {
    await Promise.all(this.topicSet.children().map((c) => c.flushAcks()));
  }

  /** Have the broker redeliver everything not acknowledged (prefetched messages are dropped). */
  redeliverUnacknowledgedMessages(): void {
    for (const c of this.topicSet.children()) c.redeliverAll();
  }

  // ---- positions

  /** Reset the subscription to a message id (the next message received) or a publish time (ms). */
  async seek(target: MessageId | number | Date): Promise<void> {
    const t = target instanceof Date ? target.getTime() : target;
    const children = this.topicSet.children();
    if (typeof t !== 'number' && children.length > 1) {
      const child = this.topicSet.childFor(t);
      if (!child) {
        throw clientErrors.make('NOT_SUPPORTED', {
          operation: 'seek by message id',
          reason: "the id names none of this consumer's partitions",
        });
      }
      await child.seek(t);
      return;
    }
    await Promise.all(children.map((c) => c.seek(t)));
  }

  /** The last message id of each topic (partition) with this subscription's mark-delete position. */
  async getLastMessageIds(): Promise<
    { topic: string; last: MessageId; markDelete: MessageId | undefined }[]
  > {
    return Promise.all(
      this.topicSet.children().map(async (c) => ({ topic: c.topic, ...(await c.getLastMessageId()) })),
    );
  }

  isConnected(): boolean {
    return this.topicSet.children().every((c) => c.isConnected);
  }

  hasReachedEndOfTopic(): boolean {
    return this.topicSet.children().every((c) => c.hasReachedEndOfTopic);
  }

  /** Queued messages not yet taken by the application. */
  get queuedMessages(): number {
    return this.queue.length;
  }

  // ---- ending

  /** Delete the subscription (fails while other consumers are attached). */
  async unsubscribe(): Promise<void> {
    await Promise.all(this.topicSet.children().map((c) => c.unsubscribe()));
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.topicSet.close();
    this.queue.close(clientErrors.make('ALREADY_CLOSED', { what: `consumer of ${this.subscription}` }));
    await this.letters.close();
  }
}
