/**
 * The producer of one topic or partition: batching, the pending queue, receipts, send timeouts,
 * backpressure, and the connection lifecycle (lookup, PRODUCER, reconnect with backoff and
 * resend of every pending entry under its original sequence ids, so a broker with deduplication
 * turns a resend into a no-op).
 *
 * Hot path: `sendAsync` allocates no promise and no timer per message; the batch timer is armed
 * once per batch and send timeouts are checked by one interval per producer.
 */

import type { MagnetarError } from '../../errors/index.ts';
import type { CommandSendError, CommandSendReceipt } from '../../gen/pulsar/PulsarApi_pb.ts';
import { u64ToNumber } from '../../wire/message-id.ts';
import { ServerError } from '../../wire/protocol.ts';
import type { ClientConnection, ProducerListener } from '../connection/connection.ts';
import type { ClientContext } from '../context.ts';
import { clientErrors, fromServerError, isRetryable } from '../errors.ts';
import { type OutgoingMessage, payloadBytes, timeOf } from '../message.ts';
import { MessageId } from '../message-id.ts';
import { Backoff } from '../util/backoff.ts';
import { hasCode, reconnect } from '../util/reconnect.ts';
import { retryUntilDeadline, withTimeout } from '../util/retry.ts';
import { BatchBuilder, encodeEntry, type QueuedMessage, type SendCallback } from './batch-builder.ts';
import { closeProducerCommand, producerCommand } from './commands.ts';
import { buildOpSend, type OpSend } from './op-send.ts';
import { PendingQueue } from './pending-queue.ts';
import type { ResolvedProducerOptions } from './producer-options.ts';
import { ProtoWriter } from './proto-writer.ts';

type State = 'idle' | 'connecting' | 'ready' | 'closing' | 'closed' | 'terminated' | 'failed';

/** Errors after which reconnecting cannot help. */
const FINAL_CODES = new Set([
  'TOPIC_TERMINATED',
  'PRODUCER_FENCED',
  'AUTHORIZATION_FAILED',
  'TOPIC_NOT_FOUND',
  'INVALID_TOPIC_NAME',
  'BROKER_INVALID_TOPIC_NAME',
  'INCOMPATIBLE_SCHEMA',
  'NOT_ALLOWED',
  'ALREADY_CLOSED',
]);

export class PartitionProducer implements ProducerListener {
  readonly topic: string;
  readonly partition: number;
  private readonly ctx: ClientContext;
  private readonly opts: ResolvedProducerOptions;
  private readonly maxPending: number;
  private readonly producerId: number;
  private name: string | undefined;
  private state: State = 'idle';
  private cnx: ClientConnection | undefined;
  private epoch = 0;
  private nextSequenceId = 0;
  private sequenceIdSet = false;
  private maxMessageSize = 5 * 1024 * 1024;
  private readonly batches = new Map<string, BatchBuilder>();
  private batchedCount = 0;
  private batchTimer: NodeJS.Timeout | undefined;
  private readonly pending = new PendingQueue();
  private readonly capacityWaiters: (() => void)[] = [];
  private flushWaiters: { sequenceId: number; done: (err?: Error) => void }[] = [];
  private timeoutTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private readonly metadataWriter = new ProtoWriter();
  private readonly batchWriter = new ProtoWriter(64 * 1024);
  private failure: MagnetarError | undefined;

  constructor(
    ctx: ClientContext,
    opts: ResolvedProducerOptions,
    topic: string,
    partition: number,
    maxPending: number,
  ) {
    this.ctx = ctx;
    this.opts = opts;
    this.topic = topic;
    this.partition = partition;
    this.maxPending = maxPending;
    this.producerId = ctx.newProducerId();
    this.name = opts.producerName;
    this.backoff = new Backoff(ctx.options.initialBackoffMs, ctx.options.maxBackoffMs);
  }

  get producerName(): string {
    return this.name ?? '';
  }

  get lastSequenceId(): number {
    return this.nextSequenceId - 1;
  }

  /** Messages accepted and not yet acknowledged by the broker. */
  get pendingMessages(): number {
    return this.pending.messages + this.batchedCount;
  }

  get isConnected(): boolean {
    return this.state === 'ready';
  }

  /** First connection: retried with backoff while errors are retryable, within operationTimeoutMs. */
  async start(): Promise<void> {
    this.state = 'connecting';
    try {
      await retryUntilDeadline(() => this.connectOnce(), {
        operation: `create producer on ${this.topic}`,
        timeoutMs: this.ctx.options.operationTimeoutMs,
        backoff: this.backoff,
        retryable: (err) => isRetryable(err) && this.state === 'connecting',
      });
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
    this.backoff.reset();
    if (this.opts.sendTimeoutMs > 0) {
      const every = Math.max(10, Math.min(1000, this.opts.sendTimeoutMs / 4));
      this.timeoutTimer = setInterval(() => this.checkSendTimeout(), every);
      this.timeoutTimer.unref();
    }
  }

  private async connectOnce(): Promise<void> {
    const where = await this.ctx.lookup.lookup(this.topic);
    const cnx = await this.ctx.pool.get(where.logicalAddress, where.physicalAddress);
    cnx.registerProducer(this.producerId, this);
    const requestId = cnx.newRequestId();
    let answer: Awaited<ReturnType<ClientConnection['request']>>;
    try {
      const cmd = producerCommand(this.opts, {
        topic: this.topic,
        producerId: this.producerId,
        requestId,
        producerName: this.name,
        epoch: this.epoch++,
      });
      answer = await cnx.request(cmd, requestId, `PRODUCER ${this.topic}`);
    } catch (err) {
      cnx.removeProducer(this.producerId, this);
      if (clientErrors.is(err, 'TIMEOUT')) void this.sendClose(cnx);
      throw err;
    }
    const ok = answer.producerSuccess!;
    if (this.state !== 'connecting') {
      // closed while connecting: do not keep a producer on the broker
      void this.sendClose(cnx);
      cnx.removeProducer(this.producerId, this);
      throw clientErrors.make('ALREADY_CLOSED', { what: `producer on ${this.topic}` });
    }
    this.name = ok.producerName;
    if (!this.sequenceIdSet) {
      this.sequenceIdSet = true;
      this.nextSequenceId =
        this.opts.initialSequenceId !== undefined
          ? this.opts.initialSequenceId + 1
          : u64ToNumber(ok.lastSequenceId) + 1;
    }
    this.cnx = cnx;
    this.maxMessageSize = cnx.maxMessageSize;
    this.state = 'ready';
    for (const op of this.pending) cnx.writePair(op.head, op.payload);
  }

  private sendClose(cnx: ClientConnection): Promise<unknown> {
    const requestId = cnx.newRequestId();
    return cnx
      .request(closeProducerCommand(this.producerId, requestId), requestId, `CLOSE_PRODUCER ${this.topic}`)
      .catch(() => undefined);
  }

  // ---- sending

  /** Whether another message fits in the pending queue now. */
  hasCapacity(): boolean {
    return this.pendingMessages < this.maxPending;
  }

  /** Wait until the pending queue has room (used by blocking sends). */
  waitForCapacity(): Promise<void> {
    if (this.hasCapacity() || this.isFinished()) return Promise.resolve();
    return new Promise((resolve) => this.capacityWaiters.push(resolve));
  }

  isFinished(): boolean {
    return (
      this.state === 'closed' ||
      this.state === 'closing' ||
      this.state === 'terminated' ||
      this.state === 'failed'
    );
  }

  /** Queue a message; `callback` gets the message id or the error. Never blocks. */
  sendAsync(msg: OutgoingMessage, callback?: SendCallback): void {
    const refused = this.refusal(msg);
    if (refused) {
      if (callback) process.nextTick(callback, refused, undefined);
      return;
    }
    const payload = payloadBytes(msg.payload);
    const sequenceId = msg.sequenceId ?? this.nextSequenceId;
    this.nextSequenceId = Math.max(this.nextSequenceId, sequenceId + 1);
    const deliverAt =
      msg.deliverAfterMs !== undefined ? Date.now() + msg.deliverAfterMs : timeOf(msg.deliverAt);
    const queued: QueuedMessage = {
      payload,
      key: msg.key,
      orderingKey: typeof msg.orderingKey === 'string' ? Buffer.from(msg.orderingKey) : msg.orderingKey,
      properties: msg.properties,
      eventTime: timeOf(msg.eventTime),
      deliverAt,
      sequenceId,
      callback,
    };
    if (
      !this.opts.batchingEnabled ||
      deliverAt !== undefined ||
      payload.byteLength > this.opts.batchingMaxBytes
    ) {
      this.flushBatches();
      this.enqueueEntry([queued]);
      return;
    }
    const batchKey = this.opts.batcherType === 'key-based' ? (msg.key ?? '') : '';
    let batch = this.batches.get(batchKey);
    if (!batch) {
      batch = new BatchBuilder(this.opts.batchingMaxMessages, this.opts.batchingMaxBytes);
      this.batches.set(batchKey, batch);
    }
    if (!batch.hasRoomFor(payload.byteLength)) this.flushBatch(batch);
    batch.add(queued);
    this.batchedCount++;
    if (batch.isFull) this.flushBatch(batch);
    else if (this.batchTimer === undefined) this.armBatchTimer();
  }

  private refusal(msg: OutgoingMessage): MagnetarError | undefined {
    if (this.isFinished()) {
      return this.failure ?? clientErrors.make('ALREADY_CLOSED', { what: `producer on ${this.topic}` });
    }
    const bytes = typeof msg.payload === 'string' ? Buffer.byteLength(msg.payload) : msg.payload?.byteLength;
    if (bytes === undefined)
      return clientErrors.make('INVALID_OPTION', { option: 'payload', reason: 'a message needs a payload' });
    if (bytes > this.maxMessageSize) {
      return clientErrors.make('MESSAGE_TOO_BIG', { bytes, maxBytes: this.maxMessageSize });
    }
    if (!this.hasCapacity()) {
      return clientErrors.make('PRODUCER_QUEUE_FULL', {
        producer: this.producerName,
        topic: this.topic,
        pending: this.pendingMessages,
        max: this.maxPending,
      });
    }
    return undefined;
  }

  private armBatchTimer(): void {
    this.batchTimer = setTimeout(() => {
      this.batchTimer = undefined;
      this.flushBatches();
    }, this.opts.batchingMaxPublishDelayMs);
  }

  /** Send every open batch now. */
  flushBatches(): void {
    if (this.batchTimer !== undefined) {
      clearTimeout(this.batchTimer);
      this.batchTimer = undefined;
    }
    for (const batch of this.batches.values()) if (!batch.isEmpty) this.flushBatch(batch);
    // Key-based batching keeps one builder per key: drop them once sent, so the map holds only
    // the keys of the current publish window.
    if (this.opts.batcherType === 'key-based') this.batches.clear();
  }

  private flushBatch(batch: BatchBuilder): void {
    const messages = batch.drain();
    this.batchedCount -= messages.length;
    this.enqueueEntry(messages);
  }

  private enqueueEntry(messages: QueuedMessage[]): void {
    const now = Date.now();
    const entry = encodeEntry(
      {
        producerName: this.producerName,
        compression: this.opts.compression,
        nowMs: now,
        metadataWriter: this.metadataWriter,
        batchWriter: this.batchWriter,
      },
      messages,
    );
    const op = buildOpSend(
      this.producerId,
      entry,
      messages.map((m) => m.callback),
      now,
    );
    this.pending.push(op);
    if (this.state === 'ready') this.cnx?.writePair(op.head, op.payload);
  }

  /** Send open batches and wait until every message accepted so far has its receipt. */
  flush(): Promise<void> {
    this.flushBatches();
    const last = this.pending.last();
    if (!last) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.flushWaiters.push({ sequenceId: last.sequenceId, done: (err) => (err ? reject(err) : resolve()) });
    });
  }

  // ---- receipts and errors from the broker

  onSendReceipt(r: CommandSendReceipt): void {
    const verdict = this.pending.onReceipt(u64ToNumber(r.sequenceId));
    if (verdict.kind === 'ahead') {
      this.ctx.log.warn(
        { topic: this.topic, expected: verdict.expected, got: String(r.sequenceId) },
        'receipt out of order; reconnecting',
      );
      this.cnx?.close('receipt out of order');
      return;
    }
    if (verdict.kind !== 'complete') return;
    const op = verdict.op;
    const ledgerId = r.messageId ? u64ToNumber(r.messageId.ledgerId) : -1;
    const entryId = r.messageId ? u64ToNumber(r.messageId.entryId) : -1;
    for (let i = 0; i < op.callbacks.length; i++) {
      const cb = op.callbacks[i];
      if (cb) {
        const id = op.batched
          ? new MessageId(ledgerId, entryId, this.partition, i, op.numMessages, this.topic)
          : new MessageId(ledgerId, entryId, this.partition, -1, 0, this.topic);
        cb(undefined, id);
      }
    }
    this.afterCompletion(op.sequenceId);
  }

  onSendError(e: CommandSendError): void {
    const err = fromServerError(e.error, e.message, { topic: this.topic });
    if (e.error === ServerError.TopicTerminatedError) {
      this.finish('terminated', err);
      return;
    }
    const head = this.pending.peek();
    const perEntry = e.error === ServerError.NotAllowedError || e.error === ServerError.ChecksumError;
    if (perEntry && head && head.sequenceId === u64ToNumber(e.sequenceId)) {
      this.pending.shift();
      failOp(head, err);
      this.afterCompletion(head.sequenceId);
      return;
    }
    // Transient (persistence, quota...): reconnect and resend, as the official clients do.
    this.cnx?.close(`send error: ${e.message}`);
  }

  private afterCompletion(sequenceId: number): void {
    while (this.flushWaiters.length > 0 && this.flushWaiters[0].sequenceId <= sequenceId) {
      this.flushWaiters.shift()!.done();
    }
    let free = this.maxPending - this.pendingMessages;
    while (this.capacityWaiters.length > 0 && free-- > 0) this.capacityWaiters.shift()!();
  }

  private checkSendTimeout(): void {
    const head = this.pending.peek();
    if (!head || Date.now() - head.createdAtMs < this.opts.sendTimeoutMs) return;
    const err = clientErrors.make('SEND_TIMEOUT', { topic: this.topic, timeoutMs: this.opts.sendTimeoutMs });
    this.failPending(err);
  }

  private failPending(err: Error): void {
    const ops = this.pending.drain();
    for (const op of ops) failOp(op, err);
    for (const w of this.flushWaiters) w.done(err);
    this.flushWaiters = [];
    while (this.capacityWaiters.length > 0) this.capacityWaiters.shift()!();
  }

  // ---- connection lifecycle

  onClosedByBroker(): void {
    const cnx = this.cnx;
    cnx?.removeProducer(this.producerId, this);
    this.reconnect(cnx);
  }

  onConnectionClosed(cnx: ClientConnection): void {
    this.reconnect(cnx);
  }

  private reconnect(from: ClientConnection | undefined): void {
    if (this.state !== 'ready' || from !== this.cnx) return;
    this.cnx = undefined;
    this.state = 'connecting';
    void reconnect({
      backoff: this.backoff,
      attempt: () => this.connectOnce(),
      wanted: () => this.state === 'connecting',
      isFinal: (err) => hasCode(err, FINAL_CODES),
      log: this.ctx.log,
      what: { topic: this.topic, producer: this.name, pending: this.pending.length },
    }).then((outcome) => {
      if (outcome.kind !== 'final') return;
      const err = outcome.error as MagnetarError;
      this.finish(err.code === 'TOPIC_TERMINATED' ? 'terminated' : 'failed', err);
    });
  }

  private finish(state: 'terminated' | 'failed', err: MagnetarError): void {
    this.state = state;
    this.failure = err;
    this.cnx?.removeProducer(this.producerId, this);
    this.cnx = undefined;
    for (const batch of this.batches.values()) for (const m of batch.drain()) m.callback?.(err, undefined);
    this.batchedCount = 0;
    this.failPending(err);
    this.stopTimers();
  }

  private stopTimers(): void {
    if (this.timeoutTimer) clearInterval(this.timeoutTimer);
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.timeoutTimer = undefined;
    this.batchTimer = undefined;
  }

  /** Send what is queued (waiting up to operationTimeoutMs for receipts), then close on the broker. */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    const wasUsable = this.state === 'ready' || this.state === 'connecting';
    if (wasUsable && this.pendingMessages > 0) {
      const timeoutMs = this.ctx.options.operationTimeoutMs;
      // Bounded, and the timer is cleared so a closed client never keeps the process alive.
      await withTimeout(this.flush(), timeoutMs, `flush on close of ${this.topic}`).catch(() => undefined);
    }
    this.state = 'closing';
    const cnx = this.cnx;
    this.cnx = undefined;
    if (cnx?.isReady) await this.sendClose(cnx);
    cnx?.removeProducer(this.producerId, this);
    this.finish('failed', clientErrors.make('ALREADY_CLOSED', { what: `producer on ${this.topic}` }));
    this.state = 'closed';
  }
}

function failOp(op: OpSend, err: Error): void {
  for (const cb of op.callbacks) cb?.(err, undefined);
}
