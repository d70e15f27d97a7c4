/**
 * The consumer of one topic or partition: SUBSCRIBE, flow control, the message path into the
 * shared receive queue, acks (grouped), negative acks and ack timeouts ending in redelivery or
 * the dead-letter topic, seek, and reconnects (the broker redelivers what was unacked; readers
 * resume after the last message they returned).
 */

import type { MagnetarError } from '../../errors/index.ts';
import type { CommandMessage } from '../../gen/pulsar/PulsarApi_pb.ts';
import { encodeCommand } from '../../wire/commands.ts';
import { fromMessageIdData } from '../../wire/message-id.ts';
import { CommandTypes } from '../../wire/protocol.ts';
import type { ClientConnection, ConsumerListener } from '../connection/connection.ts';
import type { ClientContext } from '../context.ts';
import { clientErrors, isRetryable } from '../errors.ts';
import type { Message, MessageOrigin } from '../message.ts';
import { MessageId } from '../message-id.ts';
import { Backoff } from '../util/backoff.ts';
import { retryUntilDeadline, sleep, withTimeout } from '../util/retry.ts';
import { AckTimeoutTracker } from './ack-timeout.ts';
import { type AckPosition, AckTracker } from './ack-tracker.ts';
import { ackCommand, flowCommand, redeliverCommand, seekCommand, subscribeCommand } from './commands.ts';
import type { ResolvedConsumerOptions } from './consumer-options.ts';
import { exhausted } from './dead-letter.ts';
import { FlowControl } from './flow.ts';
import { decodeMessageFrame, isDecodeProblem } from './message-decoder.ts';
import { entryKey, NackTracker } from './nack-tracker.ts';
import type { ReceiveQueue } from './receive-queue.ts';
import { StartFilter } from './start-filter.ts';

type State = 'idle' | 'connecting' | 'ready' | 'closing' | 'closed' | 'failed';

export interface TopicConsumerHooks {
  readonly queue: ReceiveQueue;
  /** Publish messages to the dead-letter topic (the consumer then acknowledges them). */
  readonly deadLetter?: (messages: Message[], topic: string) => Promise<void>;
}

const MAX_REDELIVER_IDS = 1000;

export class TopicConsumer implements ConsumerListener, MessageOrigin {
  readonly topic: string;
  readonly partition: number;
  private readonly ctx: ClientContext;
  private readonly opts: ResolvedConsumerOptions;
  private readonly hooks: TopicConsumerHooks;
  private readonly consumerId: number;
  private readonly consumerName: string;
  private state: State = 'idle';
  private cnx: ClientConnection | undefined;
  private epoch = 0;
  private readonly flow: FlowControl;
  private readonly acks: AckTracker;
  private readonly nacks: NackTracker;
  private readonly ackTimeout: AckTimeoutTracker | undefined;
  private readonly backoff: Backoff;
  private readonly possibleDeadLetters = new Map<string, Message[]>();
  private readonly start: StartFilter;
  private ackTimer: NodeJS.Timeout | undefined;
  private nackTimer: NodeJS.Timeout | undefined;
  private ackTimeoutTimer: NodeJS.Timeout | undefined;
  private reachedEnd = false;
  private active = true;
  private readyWaiters: (() => void)[] = [];

  constructor(
    ctx: ClientContext,
    opts: ResolvedConsumerOptions,
    hooks: TopicConsumerHooks,
    topic: string,
    partition: number,
    receiverQueueSize: number,
  ) {
    this.ctx = ctx;
    this.opts = opts;
    this.hooks = hooks;
    this.topic = topic;
    this.partition = partition;
    this.consumerId = ctx.newConsumerId();
    this.consumerName = opts.consumerName ?? Math.random().toString(16).slice(2, 12);
    this.flow = new FlowControl(receiverQueueSize);
    this.acks = new AckTracker(opts.batchIndexAckEnabled, opts.maxAckGroupSize);
    this.nacks = new NackTracker(opts.negativeAckRedeliveryDelayMs);
    this.ackTimeout =
      opts.ackTimeoutMs > 0 ? new AckTimeoutTracker(opts.ackTimeoutMs, opts.ackTimeoutTickMs) : undefined;
    this.backoff = new Backoff(ctx.options.initialBackoffMs, ctx.options.maxBackoffMs);
    this.start = new StartFilter(
      !opts.durable,
      opts.startMessageId,
      opts.startMessageIdInclusive,
      opts.startMessageRollbackDurationMs,
    );
  }

  get isConnected(): boolean {
    return this.state === 'ready';
  }

  get hasReachedEndOfTopic(): boolean {
    return this.reachedEnd;
  }

  /** Whether the broker made this consumer the active one (Failover); true for other types. */
  get isActive(): boolean {
    return this.active;
  }

  async startConsumer(): Promise<void> {
    this.state = 'connecting';
    try {
      await retryUntilDeadline(() => this.subscribeOnce(), {
        operation: `subscribe to ${this.topic}`,
        timeoutMs: this.ctx.options.operationTimeoutMs,
        backoff: this.backoff,
        retryable: (err) => isRetryable(err) && this.state === 'connecting',
      });
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
    this.backoff.reset();
    if (this.ackTimeout) {
      this.ackTimeoutTimer = setInterval(
        () => this.redeliver(this.ackTimeout!.tick()),
        this.opts.ackTimeoutTickMs,
      );
      this.ackTimeoutTimer.unref();
    }
  }

  private async subscribeOnce(): Promise<void> {
    const where = await this.ctx.lookup.lookup(this.topic);
    const cnx = await this.ctx.pool.get(where.logicalAddress, where.physicalAddress);
    cnx.registerConsumer(this.consumerId, this);
    const requestId = cnx.newRequestId();
    try {
      await cnx.request(
        subscribeCommand(this.opts, {
          topic: this.topic,
          consumerId: this.consumerId,
          requestId,
          consumerName: this.consumerName,
          epoch: this.epoch,
          startMessageId: this.start.wireStart(),
          rollbackSec: this.start.rollbackSec(),
        }),
        requestId,
        `SUBSCRIBE ${this.topic} ${this.opts.subscription}`,
      );
    } catch (err) {
      cnx.removeConsumer(this.consumerId, this);
      throw err;
    }
    if (this.state !== 'connecting') {
      cnx.removeConsumer(this.consumerId, this);
      this.sendCloseConsumer(cnx);
      throw clientErrors.make('ALREADY_CLOSED', { what: `consumer on ${this.topic}` });
    }
    this.cnx = cnx;
    this.state = 'ready';
    cnx.write(encodeCommand(flowCommand(this.consumerId, this.flow.initial())));
    if (this.acks.pendingCount > 0) void this.flushAcks().catch(() => undefined);
    for (const w of this.readyWaiters.splice(0)) w();
  }

  // ---- messages from the broker

  onMessage(cmd: CommandMessage, payload: Buffer): void {
    if (this.state !== 'ready') return;
    if (cmd.consumerEpoch !== 0n && Number(cmd.consumerEpoch) < this.epoch) {
      // Sent before our last redeliver-all: the broker sends it again.
      this.grant(1);
      return;
    }
    const decoded = decodeMessageFrame(cmd, payload, this.topic, this.partition, this);
    if (isDecodeProblem(decoded)) {
      this.ctx.log.warn(
        { topic: this.topic, entry: `${decoded.ledgerId}:${decoded.entryId}`, reason: decoded.reason },
        'discarding corrupt message',
      );
      const pos: AckPosition = { ledgerId: decoded.ledgerId, entryId: decoded.entryId };
      this.cnx?.write(
        encodeCommand(
          ackCommand(this.consumerId, this.partition, false, [pos], undefined, decoded.validationError),
        ),
      );
      this.grant(decoded.total);
      return;
    }
    if (decoded.batched) this.acks.onBatchReceived(decoded, decoded.total, decoded.alreadyAcked);
    let skipped = decoded.total - decoded.messages.length;
    const deadLetterCandidate =
      this.opts.deadLetterPolicy !== undefined &&
      this.isShared() &&
      cmd.redeliveryCount > 0 &&
      exhausted(cmd.redeliveryCount, this.opts.deadLetterPolicy.maxRedeliverCount);
    if (deadLetterCandidate) this.possibleDeadLetters.set(entryKey(decoded), decoded.messages);
    for (const m of decoded.messages) {
      if (!this.start.accepts(m)) {
        skipped++;
        continue;
      }
      this.hooks.queue.push(m);
    }
    if (skipped > 0) this.grant(skipped);
  }

  /** The application took `msg` from the queue. */
  delivered(msg: Message): void {
    this.start.delivered(msg.messageId);
    this.ackTimeout?.add(msg.messageId);
    this.grant(1);
  }

  private grant(count: number): void {
    const permits = this.flow.consumed(count);
    if (permits > 0 && this.state === 'ready')
      this.cnx?.write(encodeCommand(flowCommand(this.consumerId, permits)));
  }

  private isShared(): boolean {
    return this.opts.subscriptionType === 'Shared' || this.opts.subscriptionType === 'Key_Shared';
  }

  // ---- acknowledgements

  ack(id: MessageId): void {
    if (this.acks.ackIndividual(id)) this.forget(id);
    this.scheduleAckFlush();
  }

  ackCumulative(id: MessageId): void {
    if (this.isShared()) {
      throw clientErrors.make('NOT_SUPPORTED', {
        operation: 'cumulative ack',
        reason: `not allowed on ${this.opts.subscriptionType} subscriptions`,
      });
    }
    this.acks.ackCumulative(id);
    this.ackTimeout?.remove(id);
    this.scheduleAckFlush();
  }

  private forget(id: MessageId): void {
    this.ackTimeout?.remove(id);
    this.nacks.remove(id);
    this.possibleDeadLetters.delete(entryKey(id));
  }

  private scheduleAckFlush(): void {
    if (this.opts.ackGroupTimeMs === 0 || this.acks.shouldFlush) {
      void this.flushAcks().catch(() => undefined);
      return;
    }
    if (this.ackTimer === undefined) {
      this.ackTimer = setTimeout(() => {
        this.ackTimer = undefined;
        void this.flushAcks().catch(() => undefined);
      }, this.opts.ackGroupTimeMs);
    }
  }

  /** Send the queued acks now; with ack receipts, resolves when the broker confirmed them. */
  async flushAcks(): Promise<void> {
    if (this.ackTimer !== undefined) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    }
    const cnx = this.cnx;
    if (this.state !== 'ready' || !cnx || this.acks.pendingCount === 0) return;
    const { individual, cumulative } = this.acks.flush();
    const sends: Promise<unknown>[] = [];
    const send = (cumulativeAck: boolean, positions: AckPosition[]) => {
      if (!this.opts.ackReceiptEnabled) {
        cnx.write(encodeCommand(ackCommand(this.consumerId, this.partition, cumulativeAck, positions)));
        return;
      }
      const requestId = cnx.newRequestId();
      sends.push(
        cnx.request(
          ackCommand(this.consumerId, this.partition, cumulativeAck, positions, requestId),
          requestId,
          `ACK ${this.topic}`,
        ),
      );
    };
    if (individual.length > 0) send(false, individual);
    if (cumulative) send(true, [cumulative]);
    await Promise.all(sends);
  }

  nack(id: MessageId): void {
    this.nacks.add(id, Date.now());
    this.ackTimeout?.remove(id);
    if (this.nackTimer === undefined) this.armNackTimer();
  }

  private armNackTimer(): void {
    const due = this.nacks.nextDueMs();
    if (due === undefined) return;
    this.nackTimer = setTimeout(
      () => {
        this.nackTimer = undefined;
        this.redeliver(this.nacks.takeDue(Date.now()));
        this.armNackTimer();
      },
      Math.max(0, due - Date.now()),
    );
    this.nackTimer.unref();
  }

  /**
   * Redeliver entries the application failed (nack) or timed out on. Shared/Key_Shared: those
   * entries, except ones past maxRedeliverCount, which go to the dead-letter topic instead.
   * Exclusive/Failover: everything unacked (the broker rewinds).
   */
  private redeliver(ids: MessageId[]): void {
    if (ids.length === 0 || this.state !== 'ready') return;
    // Acks still grouped go first (same connection, so the broker sees them before the request).
    void this.flushAcks().catch(() => undefined);
    if (!this.isShared()) {
      this.redeliverAll();
      return;
    }
    const plain: MessageId[] = [];
    for (const id of ids) {
      const dead = this.possibleDeadLetters.get(entryKey(id));
      if (dead && this.hooks.deadLetter) this.sendToDeadLetter(id, dead);
      else plain.push(id);
    }
    for (let i = 0; i < plain.length; i += MAX_REDELIVER_IDS) {
      this.cnx?.write(
        encodeCommand(redeliverCommand(this.consumerId, plain.slice(i, i + MAX_REDELIVER_IDS))),
      );
    }
  }

  private sendToDeadLetter(id: MessageId, messages: Message[]): void {
    this.possibleDeadLetters.delete(entryKey(id));
    this.hooks.deadLetter!(messages, this.topic).then(
      () => {
        this.acks.ackIndividual(id.entry());
        this.forget(id);
        this.scheduleAckFlush();
      },
      (err: unknown) => {
        this.ctx.log.warn(
          { topic: this.topic, err: (err as Error).message },
          'dead-letter publish failed; redelivering',
        );
        this.cnx?.write(encodeCommand(redeliverCommand(this.consumerId, [id])));
      },
    );
  }

  /** Ask the broker to send everything unacknowledged again (local prefetched messages are dropped). */
  redeliverAll(): void {
    if (this.state !== 'ready') return;
    void this.flushAcks().catch(() => undefined);
    const cleared = this.hooks.queue.removeFrom(this);
    this.epoch++;
    this.cnx?.write(encodeCommand(redeliverCommand(this.consumerId, [], this.epoch)));
    this.ackTimeout?.clear();
    this.nacks.clear();
    this.acks.clearBatches();
    if (cleared > 0) this.grant(cleared);
  }

  // ---- seek, last message id

  async seek(target: MessageId | number): Promise<void> {
    const cnx = await this.connected('seek');
    await this.flushAcks();
    const requestId = cnx.newRequestId();
    await cnx.request(seekCommand(this.consumerId, requestId, target), requestId, `SEEK ${this.topic}`);
    const cleared = this.hooks.queue.removeFrom(this);
    this.acks.clearBatches();
    this.nacks.clear();
    this.ackTimeout?.clear();
    this.possibleDeadLetters.clear();
    this.start.seekTo(target);
    if (cleared > 0) this.grant(cleared);
  }

  async getLastMessageId(): Promise<{ last: MessageId; markDelete: MessageId | undefined }> {
    const cnx = await this.connected('getLastMessageId');
    const requestId = cnx.newRequestId();
    const cmd = await cnx.request(
      {
        type: CommandTypes.GET_LAST_MESSAGE_ID,
        getLastMessageId: { consumerId: BigInt(this.consumerId), requestId: BigInt(requestId) },
      },
      requestId,
      `GET_LAST_MESSAGE_ID ${this.topic}`,
    );
    const r = cmd.getLastMessageIdResponse!;
    const last = fromMessageIdData(r.lastMessageId!);
    const md = r.consumerMarkDeletePosition ? fromMessageIdData(r.consumerMarkDeletePosition) : undefined;
    return {
      last: new MessageId(last.ledgerId, last.entryId, this.partition, last.batchIndex, 0, this.topic),
      markDelete: md ? new MessageId(md.ledgerId, md.entryId, this.partition, -1, 0, this.topic) : undefined,
    };
  }

  /** The id of the last message handed to the application (readers). */
  get lastDelivered(): MessageId | undefined {
    return this.start.lastDelivered;
  }

  /** The connection, waiting (up to operationTimeoutMs) while the consumer reconnects. */
  private async connected(operation: string): Promise<ClientConnection> {
    if (this.state === 'connecting') {
      const timeoutMs = this.ctx.options.operationTimeoutMs;
      await withTimeout(
        new Promise<void>((resolve) => this.readyWaiters.push(resolve)),
        timeoutMs,
        `${operation} on ${this.topic} (waiting for the consumer to reconnect)`,
      );
    }
    if (this.state !== 'ready' || !this.cnx) {
      throw clientErrors.make('ALREADY_CLOSED', { what: `consumer on ${this.topic} (${operation})` });
    }
    return this.cnx;
  }

  // ---- lifecycle

  onActiveConsumerChange(active: boolean): void {
    this.active = active;
  }

  onReachedEndOfTopic(): void {
    this.reachedEnd = true;
  }

  onClosedByBroker(): void {
    const cnx = this.cnx;
    cnx?.removeConsumer(this.consumerId, this);
    this.reconnect(cnx);
  }

  onConnectionClosed(cnx: ClientConnection): void {
    this.reconnect(cnx);
  }

  private reconnect(from: ClientConnection | undefined): void {
    if (this.state !== 'ready' || from !== this.cnx) return;
    this.cnx = undefined;
    this.state = 'connecting';
    // The broker redelivers everything unacked to the new subscription.
    this.hooks.queue.removeFrom(this);
    this.ackTimeout?.clear();
    this.nacks.clear();
    this.start.resumeAfterLastDelivered();
    void this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    while (this.state === 'connecting') {
      await sleep(this.backoff.next());
      if (this.state !== 'connecting') return;
      try {
        await this.subscribeOnce();
        this.backoff.reset();
        this.ctx.log.info(
          { topic: this.topic, subscription: this.opts.subscription },
          'consumer reconnected',
        );
        return;
      } catch (err) {
        const code = (err as MagnetarError).code;
        if (
          (code === 'TOPIC_NOT_FOUND' ||
            code === 'SUBSCRIPTION_NOT_FOUND' ||
            code === 'AUTHORIZATION_FAILED') &&
          this.state === 'connecting'
        ) {
          this.ctx.log.warn({ topic: this.topic, err: (err as Error).message }, 'consumer cannot reconnect');
          this.state = 'failed';
          for (const w of this.readyWaiters.splice(0)) w();
          return;
        }
        this.ctx.log.debug({ topic: this.topic, err: (err as Error).message }, 'consumer reconnect failed');
      }
    }
  }

  private sendCloseConsumer(cnx: ClientConnection): Promise<unknown> {
    const requestId = cnx.newRequestId();
    return cnx
      .request(
        {
          type: CommandTypes.CLOSE_CONSUMER,
          closeConsumer: { consumerId: BigInt(this.consumerId), requestId: BigInt(requestId) },
        },
        requestId,
        `CLOSE_CONSUMER ${this.topic}`,
      )
      .catch(() => undefined);
  }

  async unsubscribe(): Promise<void> {
    const cnx = await this.connected('unsubscribe');
    const requestId = cnx.newRequestId();
    await cnx.request(
      {
        type: CommandTypes.UNSUBSCRIBE,
        unsubscribe: { consumerId: BigInt(this.consumerId), requestId: BigInt(requestId) },
      },
      requestId,
      `UNSUBSCRIBE ${this.topic} ${this.opts.subscription}`,
    );
    this.shutdown();
  }

  /** Send pending acks, close on the broker, stop timers. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    const cnx = this.state === 'ready' ? this.cnx : undefined;
    if (cnx) await this.flushAcks().catch(() => undefined);
    this.state = 'closing';
    if (cnx?.isReady) await this.sendCloseConsumer(cnx);
    this.shutdown();
  }

  private shutdown(): void {
    this.state = 'closed';
    for (const w of this.readyWaiters.splice(0)) w();
    this.cnx?.removeConsumer(this.consumerId, this);
    this.cnx = undefined;
    for (const t of [this.ackTimer, this.nackTimer]) if (t) clearTimeout(t);
    if (this.ackTimeoutTimer) clearInterval(this.ackTimeoutTimer);
    this.ackTimer = this.nackTimer = this.ackTimeoutTimer = undefined;
    this.hooks.queue.removeFrom(this);
  }
}
