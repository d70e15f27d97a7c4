/**
 * Reader: reads a topic from a chosen position without a durable subscription (a non-durable
 * Exclusive subscription named `<prefix>-<random>`, gone when the reader closes). It remembers
 * the last message it returned, so a reconnect continues right after it.
 */
import { randomBytes } from 'node:crypto';
import type { ClientContext } from '../context.ts';
import { clientErrors } from '../errors.ts';
import type { Message } from '../message.ts';
import { MessageId } from '../message-id.ts';
import { intOption, type ReaderOptions } from '../options.ts';
import { Consumer } from './consumer.ts';

export class Reader {
  readonly topic: string;
  private readonly consumer: Consumer;
  private start: MessageId;
  private inclusive: boolean;
  private last: MessageId | undefined;

  private constructor(topic: string, consumer: Consumer, start: MessageId, inclusive: boolean) {
    this.topic = topic;
    this.consumer = consumer;
    this.start = start;
    this.inclusive = inclusive;
  }

  static async create(ctx: ClientContext, o: ReaderOptions): Promise<Reader> {
    if (!o.startMessageId) {
      throw clientErrors.make('INVALID_OPTION', {
        option: 'startMessageId',
        reason: 'required (MessageId.earliest, MessageId.latest or an id)',
      });
    }
    const subscription = `${o.subscriptionRolePrefix ?? 'reader'}-${randomBytes(5).toString('hex')}`;
    const consumer = await Consumer.subscribe(ctx, {
      topic: o.topic,
      subscription,
      subscriptionType: 'Exclusive',
      durable: false,
      consumerName: o.readerName,
      receiverQueueSize: intOption('receiverQueueSize', o.receiverQueueSize, 1000, 1, 1_000_000),
      readCompacted: o.readCompacted,
      startMessageId: o.startMessageId,
      startMessageIdInclusive: o.startMessageIdInclusive,
      startMessageRollbackDurationMs: o.startMessageRollbackDurationMs,
      subscriptionInitialPosition: o.startMessageId.isEarliest() ? 'Earliest' : 'Latest',
    });
    if (consumer.topics.length > 1 && !o.startMessageId.isEarliest() && !o.startMessageId.isLatest()) {
      await consumer.close();
      throw clientErrors.make('NOT_SUPPORTED', {
        operation: 'reading a partitioned topic from a message id',
        reason: 'start at earliest or latest, or read one partition',
      });
    }
    return new Reader(
      consumer.topics.length === 1 ? consumer.topics[0] : o.topic,
      consumer,
      o.startMessageId,
      o.startMessageIdInclusive ?? false,
    );
  }

  /** The next message; with timeoutMs, fails with TIMEOUT when none arrives in time. */
  async readNext(timeoutMs?: number): Promise<Message> {
    const m = await this.consumer.receive(timeoutMs);
    this.last = m.messageId;
    this.consumer.ackCumulative(m);
    return m;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    for (;;) {
      let m: Message;
      try {
        m = await this.readNext();
      } catch (err) {
        if (clientErrors.is(err, 'ALREADY_CLOSED')) return;
        throw err;
      }
      yield m;
    }
  }

  /** Whether a message is available now or on the broker after the last one read. */
  async hasMessageAvailable(): Promise<boolean> {
    if (this.consumer.queuedMessages > 0) return true;
    const lasts = await this.consumer.getLastMessageIds();
    return lasts.some(({ last }) => {
      if (last.ledgerId < 0 || last.entryId < 0) return false;
      const ref = this.last ?? this.start;
      if (ref.isEarliest()) return true;
      if (ref.isLatest()) return false;
      const c = last.ledgerId - ref.ledgerId || last.entryId - ref.entryId;
      return this.last === undefined && this.inclusive ? c >= 0 : c > 0;
    });
  }

  /** Move to a message id (read next) or the first message published at/after a time. */
  async seek(target: MessageId | number | Date): Promise<void> {
    await this.consumer.seek(target);
    this.last = undefined;
    // After a seek by time any message on the broker may be the next one.
    this.start = typeof target === 'object' && !(target instanceof Date) ? target : MessageId.earliest;
    this.inclusive = true;
  }

  hasReachedEndOfTopic(): boolean {
    return this.consumer.hasReachedEndOfTopic();
  }

  isConnected(): boolean {
    return this.consumer.isConnected();
  }

  async close(): Promise<void> {
    await this.consumer.close();
  }
}
