/**
 * The producers a consumer uses for dead-letter and retry-letter topics, created on first use
 * (one per target topic) and closed with the consumer. Batching is off so each message is
 * acknowledged by the broker before the original is acknowledged.
 */
import type { ClientContext } from '../context.ts';
import { clientErrors } from '../errors.ts';
import type { Message } from '../message.ts';
import { Producer } from '../producer/producer.ts';
import type { ResolvedConsumerOptions } from './consumer-options.ts';
import { deadLetterMessage, deadLetterTopicOf, retryDecision, retryLetterTopicOf } from './dead-letter.ts';

export class LetterProducers {
  private readonly ctx: ClientContext;
  private readonly opts: ResolvedConsumerOptions;
  private readonly producers = new Map<string, Promise<Producer>>();
  private closed = false;

  constructor(ctx: ClientContext, opts: ResolvedConsumerOptions) {
    this.ctx = ctx;
    this.opts = opts;
  }

  deadLetterTopic(baseTopic: string): string {
    return (
      this.opts.deadLetterPolicy?.deadLetterTopic ?? deadLetterTopicOf(baseTopic, this.opts.subscription)
    );
  }

  retryTopic(baseTopic: string): string {
    return (
      this.opts.deadLetterPolicy?.retryLetterTopic ?? retryLetterTopicOf(baseTopic, this.opts.subscription)
    );
  }

  private producer(topic: string, initialSubscriptionName?: string): Promise<Producer> {
    if (this.closed) return Promise.reject(clientErrors.make('ALREADY_CLOSED', { what: 'consumer' }));
    let p = this.producers.get(topic);
    if (!p) {
      p = Producer.create(this.ctx, { topic, batchingEnabled: false, initialSubscriptionName });
      p.catch(() => this.producers.delete(topic));
      this.producers.set(topic, p);
    }
    return p;
  }

  /** Publish messages to the dead-letter topic of `baseTopic`. */
  async deadLetter(messages: readonly Message[], baseTopic: string): Promise<void> {
    const producer = await this.producer(
      this.deadLetterTopic(baseTopic),
      this.opts.deadLetterPolicy?.initialSubscriptionName,
    );
    await Promise.all(messages.map((m) => producer.send(deadLetterMessage(m, baseTopic))));
  }

  /** Publish for `reconsumeLater`: to the retry topic with a delay, or to the DLQ when exhausted. */
  async retry(
    message: Message,
    baseTopic: string,
    delayMs: number,
    properties?: Record<string, string>,
  ): Promise<void> {
    const max = this.opts.deadLetterPolicy?.maxRedeliverCount ?? 0;
    const decision = retryDecision(message, baseTopic, delayMs, max, properties);
    const producer =
      decision.target === 'retry'
        ? await this.producer(this.retryTopic(baseTopic))
        : await this.producer(
            this.deadLetterTopic(baseTopic),
            this.opts.deadLetterPolicy?.initialSubscriptionName,
          );
    await producer.send(decision.message);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.producers.values()];
    this.producers.clear();
    await Promise.all(all.map((p) => p.then((x) => x.close()).catch(() => undefined)));
  }
}
