/**
 * The I/O driver of a subscription on a persistent topic: owns the cursor and one pure dispatcher
 * (multi-dispatcher.ts for Shared/Key_Shared, single-active-dispatcher.ts for Exclusive/Failover),
 * reads entries (one read at a time), feeds them to the dispatcher and sends what it decides.
 *
 * Invariants:
 *  - At most one cursor read is in flight; anything that moves the cursor's read position
 *    (rewind, seek, reset) waits until it is over, and results of a read that raced such a move
 *    are dropped (generation counter).
 *  - Acks go to the cursor first, then the dispatcher forgets the entries.
 *  - A consumer that leaves gives its unacked entries back (Shared: replay to others; single
 *    active: rewind for the next active consumer).
 *  - Dispatch rates (topic-wide and per subscription) bound each read to the tokens available;
 *    with none left the loop waits for the refill: entries are delayed, never dropped.
 */
import type { Logger } from '../../../lib/log/index.ts';
import type { RateLimit, RateLimiter } from '../../../lib/policies/rate-limiter.ts';
import { unackedToAckSet } from '../../../lib/wire/message-id.ts';
import type { ManagedCursor, ManagedEntry, Position } from '../managed-ledger/api.ts';
import { asBuffer, entryMeta, factsOf } from '../topics/entries.ts';
import type { SubscribeRequest } from '../topics/topic.ts';
import type { Consumer } from './consumer.ts';
import { makeDispatcher } from './dispatcher-factory.ts';
import { DispatchThrottle } from './dispatch-throttle.ts';
import { Timers } from './timers.ts';
import { MultiConsumerDispatcher } from './multi-dispatcher.ts';
import { SingleActiveDispatcher, type SingleActiveEffect } from './single-active-dispatcher.ts';
import type { AddConsumerResult, Delivery, EntryMeta, ReadPlan, SubscriptionType } from './types.ts';

export interface SubscriptionSettings {
  readonly maxReadBatch: number;
  readonly roundRobinBatch: number;
  readonly maxUnackedPerConsumer: number;
  readonly maxUnackedPerSubscription: number;
  readonly maxReplayEntries: number;
  readonly failoverDelayMs: number;
  readonly delayedTickMs: number;
  readonly maxDelayedEntries: number;
  readonly readRetryBackoffMs: number;
}

export interface SubscriptionHost {
  readonly partitionIndex: number;
  readonly log: Logger;
  /** True once no more entries will ever be appended (terminated topic). */
  terminated(): boolean;
  /** Count messages going out (topic stats and metrics). */
  countOut(msgs: number, bytes: number): void;
  /** The topic's dispatch rate (shared by its subscriptions). */
  readonly dispatchLimiter?: RateLimiter;
  /** The mark-delete position moved (acks, skips, expiry): backlog quotas re-evaluate. */
  cursorMoved?(): void;
}

type Dispatcher = MultiConsumerDispatcher | SingleActiveDispatcher;

export class PersistentSubscription {
  readonly name: string;
  readonly cursor: ManagedCursor;
  private readonly host: SubscriptionHost;
  private readonly settings: SubscriptionSettings;
  private typeName: SubscriptionType;
  private dispatcher: Dispatcher;
  private readonly consumers = new Map<number, Consumer>();
  private readonly unsubscribeWritable = new Map<number, () => void>();
  private reading: Promise<void> | undefined;
  private waitingForEntries = false;
  private generation = 0;
  private pendingMove: 'rewind' | Position | undefined;
  private scheduled = false;
  private again = false;
  private resetting = false;
  private closed = false;
  private readonly timers = new Timers();
  private retryDelayMs = 0;
  private reachedEndSent = new Set<number>();
  lastExpireTimestamp = 0;
  /** Last time a consumer attached or left (subscription expiration counts from it). */
  lastActiveMs = Date.now();
  /** Dispatch rates: this subscription's and the topic's. */
  readonly throttle: DispatchThrottle;

  constructor(
    name: string,
    type: SubscriptionType,
    cursor: ManagedCursor,
    host: SubscriptionHost,
    settings: SubscriptionSettings,
  ) {
    this.name = name;
    this.cursor = cursor;
    this.host = host;
    this.settings = settings;
    this.typeName = type;
    this.throttle = new DispatchThrottle(host.dispatchLimiter);
    this.dispatcher = this.newDispatcher(type, undefined);
  }

  get type(): SubscriptionType {
    return this.typeName;
  }

  setDispatchRate(limit: RateLimit): void {
    this.throttle.update(limit);
    this.kick();
  }

  get consumerCount(): number {
    return this.consumers.size;
  }

  allConsumers(): Consumer[] {
    return [...this.consumers.values()];
  }

  /** Attach a consumer; the subscription type may change only while nobody is attached. */
  addConsumer(consumer: Consumer, req: SubscribeRequest): AddConsumerResult {
    for (const c of [...this.consumers.values()]) if (!c.channel.client.alive) this.removeConsumer(c);
    if (this.consumers.size === 0 && (req.type !== this.typeName || this.keySharedChanged(req))) {
      this.typeName = req.type;
      this.dispatcher = this.newDispatcher(req.type, req);
      this.cursor.rewind();
    } else if (req.type !== this.typeName) {
      return { ok: false, code: 'CONSUMER_BUSY', reason: `of type ${this.typeName}, not ${req.type}` };
    }
    const spec = {
      id: consumer.id,
      name: consumer.name,
      priority: consumer.priority,
      stickyRanges: req.stickyRanges,
    };
    const d = this.dispatcher;
    const result =
      d instanceof SingleActiveDispatcher ? d.addConsumer(spec, Date.now()) : d.addConsumer(spec);
    if (!result.ok) return result;
    this.consumers.set(consumer.id, consumer);
    this.unsubscribeWritable.set(
      consumer.id,
      consumer.channel.onWritabilityChange((writable) => {
        this.dispatcher.setPaused(consumer.id, !writable);
        if (writable) this.kick();
      }),
    );
    this.dispatcher.setPaused(consumer.id, !consumer.channel.writable);
    this.lastActiveMs = Date.now();
    this.afterChange();
    return { ok: true };
  }

  removeConsumer(consumer: Consumer): void {
    if (!this.consumers.delete(consumer.id)) return;
    this.lastActiveMs = Date.now();
    this.unsubscribeWritable.get(consumer.id)?.();
    this.unsubscribeWritable.delete(consumer.id);
    this.reachedEndSent.delete(consumer.id);
    const d = this.dispatcher;
    if (d instanceof SingleActiveDispatcher) d.removeConsumer(consumer.id, Date.now());
    else d.removeConsumer(consumer.id);
    this.afterChange();
  }

  flow(consumer: Consumer, permits: number): void {
    this.dispatcher.flow(consumer.id, permits);
    this.kickForReplay();
  }

  /** Entries fully acknowledged (after the cursor recorded them). */
  acked(positions: readonly Position[]): void {
    this.dispatcher.acked(positions);
    this.host.cursorMoved?.();
    this.kickForReplay();
  }

  ackedUpTo(p: Position): void {
    this.dispatcher.ackedUpTo(p);
    this.host.cursorMoved?.();
    this.kickForReplay();
  }

  /**
   * Permits or acks may have unblocked entries waiting for redelivery (Key_Shared draining, caps):
   * a read parked on the topic's tail must not keep them waiting for the next publish.
   */
  private kickForReplay(): void {
    const d = this.dispatcher;
    if (
      this.waitingForEntries &&
      d instanceof MultiConsumerDispatcher &&
      d.replaySize > 0 &&
      d.planRead().kind === 'replay'
    ) {
      this.cursor.cancelPendingRead();
    }
    this.kick();
  }

  redeliver(consumer: Consumer, positions?: readonly Position[]): void {
    const d = this.dispatcher;
    if (d instanceof SingleActiveDispatcher) d.redeliver(consumer.id);
    else consumer.redelivered.add(d.redeliver(consumer.id, positions));
    this.afterChange();
  }

  /** Reset the cursor (seek / admin reset); every consumer is disconnected afterwards. */
  async reset(move: (cursor: ManagedCursor) => Promise<void>): Promise<void> {
    this.generation++;
    this.resetting = true;
    try {
      await this.quiesce();
      await move(this.cursor);
      this.dispatcher.reset();
      this.pendingMove = undefined;
    } catch (err) {
      this.resetting = false;
      this.kick();
      throw err;
    }
    // Disconnect after the caller answered (SUCCESS first, then CLOSE_CONSUMER).
    setImmediate(() => {
      this.disconnectAll();
      this.resetting = false;
      this.kick();
    });
  }

  /** Admin operations that move mark-delete (skip, clear backlog, expire). */
  async moveMarkDelete(move: (cursor: ManagedCursor) => Promise<void>): Promise<void> {
    await move(this.cursor);
    this.dispatcher.ackedUpTo(this.cursor.markDeletePosition);
    this.host.cursorMoved?.();
    this.kick();
  }

  /** Something outside changed (topic terminated): re-plan, not waiting for the tail. */
  wake(): void {
    if (this.waitingForEntries) this.cursor.cancelPendingRead();
    this.kick();
  }

  disconnectAll(): void {
    for (const c of [...this.consumers.values()]) {
      this.removeConsumer(c);
      c.channel.closeByBroker();
    }
  }

  /** Stop dispatching (topic closing or subscription deleted). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.clear();
    this.disconnectAll();
    if (this.waitingForEntries) this.cursor.cancelPendingRead();
    await this.reading;
  }

  get dispatcherView(): Dispatcher {
    return this.dispatcher;
  }

  activeConsumerName(): string | undefined {
    const d = this.dispatcher;
    if (!(d instanceof SingleActiveDispatcher) || d.active === undefined) return undefined;
    return this.consumers.get(d.active)?.name;
  }

  // ---- dispatch loop ----

  private afterChange(): void {
    const d = this.dispatcher;
    if (d instanceof SingleActiveDispatcher) this.applyEffects(d.takeEffects());
    // Replays must go before new entries: stop waiting for the tail.
    if (this.waitingForEntries) this.cursor.cancelPendingRead();
    this.kick();
  }

  /** Schedule one pass of the read loop (coalesced; a kick during a read runs another pass after it). */
  private kick(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (this.reading) {
        this.again = true;
        return;
      }
      this.reading = this.readOnce().finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
    });
  }

  private async quiesce(): Promise<void> {
    while (this.reading) {
      if (this.waitingForEntries) this.cursor.cancelPendingRead();
      await this.reading;
    }
  }

  private async readOnce(): Promise<void> {
    if (this.closed || this.resetting) return;
    if (this.pendingMove !== undefined) this.applyMove();
    const d = this.dispatcher;
    const now = Date.now();
    const plan: ReadPlan = d instanceof SingleActiveDispatcher ? d.planRead(now) : d.planRead();
    if (plan.kind === 'idle') return;
    if (plan.kind === 'read' && this.host.terminated() && !this.cursor.hasMoreEntries())
      return this.reachedEnd();
    const budget = this.throttle.budget();
    if (budget.kind === 'wait') return this.timers.at('throttle', Date.now() + budget.ms, () => this.kick());
    const replay = plan.kind === 'replay' ? plan.positions.slice(0, budget.msgs) : [];
    const gen = this.generation;
    let entries: ManagedEntry[];
    try {
      if (plan.kind === 'replay') {
        entries = await this.cursor.replayEntries(replay);
      } else {
        this.waitingForEntries = true;
        const max = Math.min(plan.maxEntries, budget.msgs);
        entries = await this.cursor.readEntriesOrWait(
          max,
          Number.isFinite(budget.bytes) ? { maxBytes: budget.bytes } : undefined,
        );
      }
      this.retryDelayMs = 0;
    } catch (err) {
      this.host.log.warn({ err, subscription: this.name }, 'cursor read failed; retrying');
      this.retryDelayMs = Math.min(
        Math.max(this.settings.readRetryBackoffMs, this.retryDelayMs * 2),
        32 * this.settings.readRetryBackoffMs,
      );
      this.after(this.retryDelayMs);
      return;
    } finally {
      this.waitingForEntries = false;
    }
    if (gen !== this.generation || this.closed || d !== this.dispatcher) return;
    if (this.pendingMove !== undefined) {
      // A rewind/seek was requested during the read: these entries will be read again.
      this.applyMove();
      this.kick();
      return;
    }
    const metas = this.metasOf(entries);
    const byKey = new Map(entries.map((e) => [`${e.position.ledgerId}:${e.position.entryId}`, e]));
    let deliveries: Delivery[];
    if (d instanceof SingleActiveDispatcher) {
      deliveries = d.dispatch(metas, Date.now());
      this.applyEffects(d.takeEffects());
    } else {
      if (plan.kind === 'replay') {
        const found = new Set(byKey.keys());
        d.discard(replay.filter((p) => !found.has(`${p.ledgerId}:${p.entryId}`)));
      }
      deliveries = d.dispatch(metas, plan.kind === 'replay', Date.now());
      this.scheduleDelayed(d);
    }
    this.send(deliveries, byKey);
    if (entries.length > 0 || plan.kind === 'replay') this.kick();
  }

  private metasOf(entries: readonly ManagedEntry[]): EntryMeta[] {
    const out: EntryMeta[] = [];
    for (const e of entries) {
      const facts = factsOf(e.data);
      if (facts?.isMarker) {
        void this.cursor.delete([e.position]).catch(() => undefined);
        continue;
      }
      out.push(entryMeta(e.position, facts));
    }
    return out;
  }

  private send(deliveries: readonly Delivery[], byKey: Map<string, ManagedEntry>): void {
    const now = Date.now();
    const full = new Map<number, Position[]>();
    for (const dl of deliveries) {
      const consumer = this.consumers.get(dl.consumerId);
      const stored = byKey.get(`${dl.entry.position.ledgerId}:${dl.entry.position.entryId}`);
      if (!consumer || !stored) continue;
      const blocked = full.get(consumer.id);
      if (blocked || !consumer.channel.writable) {
        // The socket is backed up: the rest goes back, nothing beyond the limit is queued.
        if (blocked) blocked.push(dl.entry.position);
        else full.set(consumer.id, [dl.entry.position]);
        continue;
      }
      const data = asBuffer(stored.data);
      const pos = dl.entry.position;
      let ackSet: bigint[] | undefined;
      const acked = dl.entry.numMessages > 1 ? this.cursor.ackedBatchIndexes(pos) : undefined;
      if (acked && acked.length > 0) {
        const unacked = Array.from({ length: dl.entry.numMessages }, () => true);
        for (const i of acked) unacked[i] = false;
        ackSet = unackedToAckSet(unacked);
      }
      consumer.channel.sendMessage(
        { ...pos, partition: this.host.partitionIndex },
        data,
        dl.redeliveryCount,
        ackSet,
      );
      consumer.out.add(dl.entry.numMessages, data.byteLength);
      consumer.lastConsumedTimestamp = now;
      this.host.countOut(dl.entry.numMessages, data.byteLength);
      this.throttle.record(dl.entry.numMessages, data.byteLength);
    }
    const d = this.dispatcher;
    for (const [consumerId, positions] of full) {
      d.setPaused(consumerId, true);
      if (d instanceof SingleActiveDispatcher) {
        d.undeliver(consumerId, positions[0]);
        this.applyEffects(d.takeEffects());
      } else {
        d.undeliver(consumerId, positions);
      }
    }
  }

  private applyEffects(effects: readonly SingleActiveEffect[]): void {
    for (const e of effects) {
      if (e.kind === 'active-changed') {
        for (const id of e.consumerIds)
          this.consumers.get(id)?.channel.sendActiveConsumerChange(id === e.activeId);
      } else if (e.kind === 'resume-at') {
        this.after(Math.max(0, e.atMs - Date.now()));
      } else if (e.kind === 'rewind') {
        this.pendingMove = 'rewind';
      } else if (this.pendingMove !== 'rewind') {
        this.pendingMove = e.position;
      }
    }
    if (this.pendingMove !== undefined) {
      if (this.reading) {
        if (this.waitingForEntries) this.cursor.cancelPendingRead();
      } else {
        this.applyMove();
      }
    }
  }

  private applyMove(): void {
    const move = this.pendingMove;
    this.pendingMove = undefined;
    if (move === 'rewind') this.cursor.rewind();
    else if (move !== undefined) this.cursor.seek(move);
  }

  /** One timer for the earliest delayed deadline (at tick granularity). */
  private scheduleDelayed(d: MultiConsumerDispatcher): void {
    const deadline = d.nextDelayedDeadline();
    if (deadline === undefined) return;
    this.timers.at('delayed', Math.max(Date.now() + this.settings.delayedTickMs, deadline), () => {
      if (this.closed || d !== this.dispatcher) return;
      if (d.releaseDelayed(Date.now()) > 0) this.afterChange();
      this.scheduleDelayed(d);
    });
  }

  private after(ms: number): void {
    this.timers.after(ms, () => this.kick());
  }

  private reachedEnd(): void {
    for (const c of this.consumers.values()) {
      if (this.reachedEndSent.has(c.id)) continue;
      this.reachedEndSent.add(c.id);
      c.channel.sendReachedEndOfTopic();
    }
  }

  private keySharedChanged(req: SubscribeRequest): boolean {
    const d = this.dispatcher;
    return (
      req.type === 'Key_Shared' &&
      d instanceof MultiConsumerDispatcher &&
      (req.keySharedMode === 'sticky') !== this.sticky
    );
  }

  private sticky = false;

  private newDispatcher(type: SubscriptionType, req: SubscribeRequest | undefined): Dispatcher {
    if (type === 'Key_Shared' || type === 'Shared') this.sticky = req?.keySharedMode === 'sticky';
    return makeDispatcher(type, req, this.settings, this.host.partitionIndex);
  }
}
