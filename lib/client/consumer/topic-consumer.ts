/**
 * The consumer of one topic or partition: SUBSCRIBE, flow control, the message path into the
 * shared receive queue, grouped acks, redelivery (redelivery.ts decides what and when; here it is
 * sent, or published to the dead-letter topic), seek, and reconnects (the broker redelivers what
 * was unacked; readers resume after the last message they returned).
 */
import type { CommandMessage } from '../../gen/pulsar/PulsarApi_pb.ts';
import { commandName, encodeCommand } from '../../wire/commands.ts';
import { fromMessageIdData } from '../../wire/message-id.ts';
import type { ClientConnection, ConsumerListener } from '../connection/connection.ts';
import type { ClientContext } from '../context.ts';
import { clientErrors, isRetryable } from '../errors.ts';
import type { Message, MessageOrigin } from '../message.ts';
import { MessageId } from '../message-id.ts';
import { Backoff } from '../util/backoff.ts';
import { hasCode, reconnect } from '../util/reconnect.ts';
import { retryUntilDeadline, withTimeout } from '../util/retry.ts';
import { type AckPosition, AckTracker } from './ack-tracker.ts';
import {
  ackCommand,
  consumerRequest,
  flowCommand,
  redeliverCommand,
  seekCommand,
  subscribeCommand,
} from './commands.ts';
import type { ResolvedConsumerOptions } from './consumer-options.ts';
import { FlowControl } from './flow.ts';
import { decodeMessageFrame, isDecodeProblem } from './message-decoder.ts';
import type { ReceiveQueue } from './receive-queue.ts';
import { Redelivery, type RedeliveryBatch } from './redelivery.ts';
import { StartFilter } from './start-filter.ts';

type State = 'idle' | 'connecting' | 'ready' | 'closing' | 'closed' | 'failed';

export interface TopicConsumerHooks {
  readonly queue: ReceiveQueue;
  /** Publish messages to the dead-letter topic (the consumer then acknowledges them). */
  readonly deadLetter?: (messages: Message[], topic: string) => Promise<void>;
}

const MAX_REDELIVER_IDS = 1000;
/** Errors after which resubscribing cannot help. */
const FINAL = new Set(['TOPIC_NOT_FOUND', 'SUBSCRIPTION_NOT_FOUND', 'AUTHORIZATION_FAILED']);

export class TopicConsumer implements ConsumerListener, MessageOrigin {
  readonly topic: string;
  readonly partition: number;
  private readonly ctx: ClientContext;
  private readonly opts: ResolvedConsumerOptions;
  private readonly hooks: TopicConsumerHooks;
  private readonly consumerId: number;
  private readonly consumerName: string;
  private readonly shared: boolean;
  private state: State = 'idle';
  private cnx: ClientConnection | undefined;
  private epoch = 0;
  private readonly flow: FlowControl;
  private readonly acks: AckTracker;
  private readonly redelivery: Redelivery;
  private readonly backoff: Backoff;
  private readonly start: StartFilter;
  private ackTimer: NodeJS.Timeout | undefined;
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
    this.shared = opts.subscriptionType === 'Shared' || opts.subscriptionType === 'Key_Shared';
    this.flow = new FlowControl(receiverQueueSize);
    this.acks = new AckTracker(opts.batchIndexAckEnabled, opts.maxAckGroupSize);
    this.redelivery = new Redelivery(opts, (batch) => this.onRedeliveryDue(batch));
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

  /** The id of the last message handed to the application (readers). */
  get lastDelivered(): MessageId | undefined {
    return this.start.lastDelivered;
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
    this.redelivery.start();
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
      void this.request(cnx, 'close').catch(() => undefined);
      throw clientErrors.make('ALREADY_CLOSED', { what: `consumer on ${this.topic}` });
    }
    this.cnx = cnx;
    this.state = 'ready';
    cnx.write(encodeCommand(flowCommand(this.consumerId, this.flow.initial())));
    if (this.acks.pendingCount > 0) void this.flushAcks().catch(() => undefined);
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
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
      const err = clientErrors.make('CORRUPT_MESSAGE', {
        messageId: `${decoded.ledgerId}:${decoded.entryId}`,
        topic: this.topic,
        reason: decoded.reason,
      });
      this.ctx.log.warn(
        { err: err.message },
        'discarding a corrupt message (acknowledged with its validation error)',
      );
      const pos: AckPosition = { ledgerId: decoded.ledgerId, entryId: decoded.entryId };
      const ack = ackCommand(
        this.consumerId,
        this.partition,
        false,
        [pos],
        undefined,
        decoded.validationError,
      );
      this.cnx?.write(encodeCommand(ack));
      this.grant(decoded.total);
      return;
    }
    if (decoded.batched) this.acks.onBatchReceived(decoded, decoded.total, decoded.alreadyAcked);
    this.redelivery.received(decoded, cmd.redeliveryCount, decoded.messages);
    let skipped = decoded.total - decoded.messages.length;
    for (const m of decoded.messages) {
      if (this.start.accepts(m)) this.hooks.queue.push(m);
      else skipped++;
    }
    if (skipped > 0) this.grant(skipped);
  }

  /** The application took `msg` from the queue. */
  delivered(msg: Message): void {
    this.start.delivered(msg.messageId);
    this.redelivery.delivered(msg.messageId);
    this.grant(1);
  }

  private grant(count: number): void {
    const permits = this.flow.consumed(count);
    if (permits > 0 && this.state === 'ready')
      this.cnx?.write(encodeCommand(flowCommand(this.consumerId, permits)));
  }

  // ---- acknowledgements

  ack(id: MessageId): void {
    if (this.acks.ackIndividual(id)) this.redelivery.acked(id);
    this.scheduleAckFlush();
  }

  ackCumulative(id: MessageId): void {
    if (this.shared) {
      throw clientErrors.make('NOT_SUPPORTED', {
        operation: 'cumulative ack',
        reason: `not allowed on ${this.opts.subscriptionType} subscriptions`,
      });
    }
    this.acks.ackCumulative(id);
    this.redelivery.ackedCumulative(id);
    this.scheduleAckFlush();
  }

  nack(id: MessageId): void {
    this.redelivery.nack(id);
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
      const cmd = ackCommand(this.consumerId, this.partition, cumulativeAck, positions, requestId);
      sends.push(cnx.request(cmd, requestId, `ACK ${this.topic}`));
    };
    if (individual.length > 0) send(false, individual);
    if (cumulative) send(true, [cumulative]);
    await Promise.all(sends);
  }

  // ---- redelivery

  private onRedeliveryDue(batch: RedeliveryBatch): void {
    if (this.state !== 'ready') return;
    // Acks still grouped go first (same connection, so the broker sees them before the request).
    void this.flushAcks().catch(() => undefined);
    if (!this.shared) {
      // Exclusive/Failover: the broker rewinds to the first unacked message.
      this.redeliverAll();
      return;
    }
    for (const { id, messages } of batch.deadLetter) {
      if (this.hooks.deadLetter) this.sendToDeadLetter(id, messages);
      else batch.redeliver.push(id);
    }
    for (let i = 0; i < batch.redeliver.length; i += MAX_REDELIVER_IDS) {
      const ids = batch.redeliver.slice(i, i + MAX_REDELIVER_IDS);
      this.cnx?.write(encodeCommand(redeliverCommand(this.consumerId, ids)));
    }
  }

  private sendToDeadLetter(id: MessageId, messages: Message[]): void {
    this.hooks.deadLetter!(messages, this.topic).then(
      () => {
        this.acks.ackIndividual(id.entry());
        this.redelivery.acked(id);
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
    this.redelivery.clear();
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
    this.redelivery.clear();
    this.redelivery.forgetCandidates();
    this.start.seekTo(target);
    if (cleared > 0) this.grant(cleared);
  }

  async getLastMessageId(): Promise<{ last: MessageId; markDelete: MessageId | undefined }> {
    const cnx = await this.connected('getLastMessageId');
    const r = (await this.request(cnx, 'lastMessageId')).getLastMessageIdResponse!;
    const last = fromMessageIdData(r.lastMessageId!);
    const md = r.consumerMarkDeletePosition ? fromMessageIdData(r.consumerMarkDeletePosition) : undefined;
    return {
      last: new MessageId(last.ledgerId, last.entryId, this.partition, last.batchIndex, 0, this.topic),
      markDelete: md ? new MessageId(md.ledgerId, md.entryId, this.partition, -1, 0, this.topic) : undefined,
    };
  }

  private request(cnx: ClientConnection, kind: 'close' | 'unsubscribe' | 'lastMessageId') {
    const requestId = cnx.newRequestId();
    const cmd = consumerRequest(kind, this.consumerId, requestId);
    return cnx.request(cmd, requestId, `${commandName(cmd.type!)} ${this.topic} ${this.opts.subscription}`);
  }

  /** The connection, waiting (up to operationTimeoutMs) while the consumer reconnects. */
  private async connected(operation: string): Promise<ClientConnection> {
    if (this.state === 'connecting') {
      await withTimeout(
        new Promise<void>((resolve) => this.readyWaiters.push(resolve)),
        this.ctx.options.operationTimeoutMs,
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
    this.redelivery.clear();
    this.start.resumeAfterLastDelivered();
    void reconnect({
      backoff: this.backoff,
      attempt: () => this.subscribeOnce(),
      wanted: () => this.state === 'connecting',
      isFinal: (err) => hasCode(err, FINAL),
      log: this.ctx.log,
      what: { topic: this.topic, subscription: this.opts.subscription },
    }).then((outcome) => {
      if (outcome.kind !== 'final') return;
      this.state = 'failed';
      this.wakeWaiters();
    });
  }

  async unsubscribe(): Promise<void> {
    const cnx = await this.connected('unsubscribe');
    await this.request(cnx, 'unsubscribe');
    this.shutdown();
  }

  /** Send pending acks, close on the broker, stop timers. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    const cnx = this.state === 'ready' ? this.cnx : undefined;
    if (cnx) await this.flushAcks().catch(() => undefined);
    this.state = 'closing';
    if (cnx?.isReady) await this.request(cnx, 'close').catch(() => undefined);
    this.shutdown();
  }

  private shutdown(): void {
    this.state = 'closed';
    this.wakeWaiters();
    this.cnx?.removeConsumer(this.consumerId, this);
    this.cnx = undefined;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.redelivery.stop();
    this.hooks.queue.removeFrom(this);
  }
}
