/**
 * Dispatch state machine of Shared and Key_Shared subscriptions (internals.md §4.3-4.5), pure:
 * it is told about consumers, permits, acks and the entries the driver read, and decides who
 * gets what. The driver (persistent-subscription.ts) does the reading and the sending.
 *
 * Rules:
 *  - Replays first: entries waiting for redelivery (nacked, returned by a closed consumer, or read
 *    but not deliverable) are planned before new reads, oldest position first.
 *  - Shared: round robin among consumers with permits at the best priority level, up to
 *    `roundRobinBatch` entries per turn. A consumer takes an entry while it has permits > 0 (a
 *    batch may overshoot, as in Pulsar).
 *  - Key_Shared: the entry's slot decides the consumer. Per-key order is kept across consumer
 *    changes with draining slots: a slot whose entries are still unacked on a consumer other
 *    than its new owner is blocked until those are acked or returned; and a new entry never
 *    overtakes an older entry of its slot waiting in the replay set.
 *  - Unacked caps: a consumer at `maxUnackedPerConsumer` (or the subscription at its cap) gets
 *    nothing until the count falls to half.
 *  - Delayed delivery (Shared only): a new entry whose deliver time is in the future is held by
 *    the tracker and joins the replay set when due.
 */
import { comparePositions } from '../managed-ledger/api.ts';
import { DelayedTracker } from './delayed-tracker.ts';
import { ReplaySet } from './replay-set.ts';
import { AutoSplitSelector, type KeySelector, RoundRobinPicker, StickySelector } from './selectors.ts';
import {
  type AddConsumerResult,
  type ConsumerDispatchStats,
  type ConsumerSpec,
  type Delivery,
  type EntryMeta,
  type Position,
  posKey,
  type ReadPlan,
} from './types.ts';

export interface MultiDispatcherOptions {
  readonly keyShared?: { readonly mode: 'auto-split' | 'sticky'; readonly allowOutOfOrder?: boolean };
  readonly maxReadBatch: number;
  readonly roundRobinBatch: number;
  /** 0 = no cap. */
  readonly maxUnackedPerConsumer: number;
  /** 0 = no cap. */
  readonly maxUnackedPerSubscription: number;
  readonly maxReplayEntries: number;
  /** Delayed delivery index size; undefined = delayed delivery off (deliver at once). */
  readonly maxDelayedEntries?: number;
}

interface PendingEntry {
  readonly meta: EntryMeta;
  readonly consumerId: number;
}

interface ConsumerState {
  readonly spec: ConsumerSpec;
  permits: number;
  unacked: number;
  blocked: boolean;
  /** Output paused by the driver (socket not writable). */
  paused: boolean;
  readonly pending: Map<string, PendingEntry>;
}

export class MultiConsumerDispatcher {
  private readonly opts: MultiDispatcherOptions;
  private readonly consumers = new Map<number, ConsumerState>();
  /** Arrival order (round robin order). */
  private ordered: ConsumerState[] = [];
  private readonly picker = new RoundRobinPicker();
  private readonly replay = new ReplaySet();
  private readonly redeliveryCounts = new Map<string, number>();
  /** Every dispatched, unacked entry → its consumer (also the Key_Shared slot holder counts). */
  private readonly pending = new Map<string, PendingEntry>();
  private readonly slotHolders = new Map<number, { consumerId: number; count: number }>();
  private readonly selector: KeySelector | undefined;
  private readonly delayed: DelayedTracker | undefined;
  private totalUnacked = 0;
  private subscriptionBlocked = false;
  /** Running average of messages per entry (sizes new reads to the permits). */
  private avgMessagesPerEntry = 1;

  constructor(opts: MultiDispatcherOptions) {
    this.opts = opts;
    if (opts.keyShared)
      this.selector = opts.keyShared.mode === 'sticky' ? new StickySelector() : new AutoSplitSelector();
    if (opts.maxDelayedEntries !== undefined && !opts.keyShared)
      this.delayed = new DelayedTracker(opts.maxDelayedEntries);
  }

  get consumerCount(): number {
    return this.consumers.size;
  }

  addConsumer(spec: ConsumerSpec): AddConsumerResult {
    if (this.consumers.has(spec.id))
      return { ok: false, code: 'CONSUMER_BUSY', reason: 'consumer already attached' };
    if (this.selector) {
      const refused = this.selector.add(spec);
      if (refused) return { ok: false, code: 'CONSUMER_ASSIGN_FAILED', reason: refused };
    }
    const state: ConsumerState = {
      spec,
      permits: 0,
      unacked: 0,
      blocked: false,
      paused: false,
      pending: new Map(),
    };
    this.consumers.set(spec.id, state);
    this.ordered.push(state);
    return { ok: true };
  }

  /** Detach a consumer; its unacked entries go back for redelivery (count + 1). */
  removeConsumer(id: number): number {
    const c = this.consumers.get(id);
    if (!c) return 0;
    const returned = this.returnPending(c, [...c.pending.keys()]);
    this.consumers.delete(id);
    this.ordered = this.ordered.filter((x) => x !== c);
    this.selector?.remove(id);
    return returned;
  }

  flow(id: number, permits: number): void {
    const c = this.consumers.get(id);
    if (c && permits > 0) c.permits += permits;
  }

  setPaused(id: number, paused: boolean): void {
    const c = this.consumers.get(id);
    if (c) c.paused = paused;
  }

  /** Entries fully acknowledged (individually). */
  acked(positions: readonly Position[]): void {
    for (const p of positions) this.forget(posKey(p), p);
  }

  /** Everything at or before `p` is acknowledged (mark-delete moved: cumulative ack, skip, reset). */
  ackedUpTo(p: Position): void {
    for (const [key, entry] of [...this.pending]) {
      if (comparePositions(entry.meta.position, p) <= 0) this.forget(key, entry.meta.position);
    }
    this.replay.removeUpTo(p);
    for (const key of [...this.redeliveryCounts.keys()]) {
      const [l, e] = key.split(':').map(Number);
      if (comparePositions({ ledgerId: l, entryId: e }, p) <= 0) this.redeliveryCounts.delete(key);
    }
  }

  /** Client asked for redelivery: of those entries, or of all its unacked entries. */
  redeliver(consumerId: number, positions?: readonly Position[]): number {
    const c = this.consumers.get(consumerId);
    if (!c) return 0;
    const keys = positions ? positions.map(posKey).filter((k) => c.pending.has(k)) : [...c.pending.keys()];
    return this.returnPending(c, keys);
  }

  /** Forget everything but the consumers (subscription reset: the cursor starts over). */
  reset(): void {
    for (const c of this.consumers.values()) {
      c.pending.clear();
      c.unacked = 0;
      c.blocked = false;
    }
    this.pending.clear();
    this.slotHolders.clear();
    this.replay.clear();
    this.redeliveryCounts.clear();
    this.delayed?.clear();
    this.totalUnacked = 0;
    this.subscriptionBlocked = false;
  }

  /**
   * Deliveries the driver could not write (the consumer's socket filled up): back to the replay
   * set as if never sent (permits and unacked counts restored, no redelivery counted).
   */
  undeliver(consumerId: number, positions: readonly Position[]): void {
    const c = this.consumers.get(consumerId);
    if (!c) return;
    for (const p of positions) {
      const key = posKey(p);
      const pending = c.pending.get(key);
      if (!pending) continue;
      this.releasePending(key, pending);
      c.permits += pending.meta.numMessages;
      this.replay.add(p, pending.meta);
    }
  }

  /** Replay entries the store could not return (acked or trimmed meanwhile). */
  discard(positions: readonly Position[]): void {
    for (const p of positions) this.forget(posKey(p), p);
  }

  planRead(): ReadPlan {
    if (this.subscriptionBlocked) return { kind: 'idle' };
    const permits = this.availablePermits();
    if (permits <= 0) return { kind: 'idle' };
    if (this.replay.size > 0) {
      const positions = this.replay.take(this.opts.maxReadBatch, (meta) => this.couldDispatch(meta));
      if (positions.length > 0) return { kind: 'replay', positions };
    }
    if (this.replay.size >= this.opts.maxReplayEntries || this.delayed?.isFull) return { kind: 'idle' };
    const byPermits = Math.ceil(permits / Math.max(1, this.avgMessagesPerEntry));
    return { kind: 'read', maxEntries: Math.max(1, Math.min(this.opts.maxReadBatch, byPermits)) };
  }

  /**
   * Assign entries the driver read (`fromReplay`: read for a replay plan). New entries that
   * cannot be delivered now join the replay set; replayed ones stay there.
   */
  dispatch(entries: readonly EntryMeta[], fromReplay: boolean, nowMs: number): Delivery[] {
    const out: Delivery[] = [];
    const blockedSlots = new Set<number>();
    let turn: ConsumerState | undefined;
    let turnLeft = 0;
    for (const entry of entries) {
      const key = posKey(entry.position);
      if (this.pending.has(key)) continue;
      if (!fromReplay) this.learnSize(entry.numMessages);
      if (!fromReplay && this.delayed && entry.deliverAtMs !== undefined && entry.deliverAtMs > nowMs) {
        this.delayed.add(entry.position, entry.deliverAtMs);
        continue;
      }
      let target: ConsumerState | undefined;
      if (this.selector) {
        target = this.keySharedTarget(entry, fromReplay, blockedSlots);
      } else {
        if (!turn || turnLeft <= 0 || !this.available(turn)) {
          turn = this.picker.pick(
            this.ordered,
            (c) => c.spec.priority,
            (c) => this.available(c),
          );
          turnLeft = this.opts.roundRobinBatch;
        }
        target = turn;
      }
      if (!target || this.subscriptionBlocked) {
        if (this.selector) blockedSlots.add(entry.slot);
        this.replay.add(entry.position, entry);
        continue;
      }
      turnLeft--;
      out.push(this.assign(target, entry, key));
    }
    return out;
  }

  /** Move due delayed entries into the replay set; returns how many. */
  releaseDelayed(nowMs: number): number {
    if (!this.delayed) return 0;
    const due = this.delayed.releaseDue(nowMs);
    for (const p of due) this.replay.add(p);
    return due.length;
  }

  nextDelayedDeadline(): number | undefined {
    return this.delayed?.nextDeadline();
  }

  redeliveryCount(p: Position): number {
    return this.redeliveryCounts.get(posKey(p)) ?? 0;
  }

  consumerStats(id: number): ConsumerDispatchStats | undefined {
    const c = this.consumers.get(id);
    if (!c) return undefined;
    return {
      permits: c.permits,
      unackedMessages: c.unacked,
      blockedOnUnacked: c.blocked,
      pendingEntries: c.pending.size,
    };
  }

  /** Key_Shared ranges per consumer id (stats). */
  keyRanges(): Map<number, [number, number][]> | undefined {
    return this.selector?.ranges();
  }

  get replaySize(): number {
    return this.replay.size;
  }

  get delayedSize(): number {
    return this.delayed?.size ?? 0;
  }

  get unackedMessages(): number {
    return this.totalUnacked;
  }

  get blockedOnUnacked(): boolean {
    return this.subscriptionBlocked;
  }

  /** Positions waiting for redelivery (for tests and stats). */
  replayPositions(): Position[] {
    return this.replay.positions();
  }

  private available(c: ConsumerState): boolean {
    return c.permits > 0 && !c.blocked && !c.paused;
  }

  private availablePermits(): number {
    let total = 0;
    const cap = this.opts.maxUnackedPerConsumer;
    for (const c of this.ordered) {
      if (this.available(c)) total += cap > 0 ? Math.min(c.permits, cap - c.unacked) : c.permits;
    }
    const subCap = this.opts.maxUnackedPerSubscription;
    return subCap > 0 ? Math.min(total, subCap - this.totalUnacked) : total;
  }

  /** Could a replay entry with this (possibly unknown) meta go somewhere now? */
  private couldDispatch(meta: EntryMeta | undefined): boolean {
    if (!meta || !this.selector) return true;
    const owner = this.selector.select(meta.slot);
    if (owner === undefined) return false;
    const holder = this.slotHolders.get(meta.slot);
    if (holder && holder.consumerId !== owner && !this.opts.keyShared?.allowOutOfOrder) return false;
    const c = this.consumers.get(owner);
    return c !== undefined && this.available(c);
  }

  private keySharedTarget(
    entry: EntryMeta,
    fromReplay: boolean,
    blockedSlots: Set<number>,
  ): ConsumerState | undefined {
    if (blockedSlots.has(entry.slot)) return undefined;
    const ownerId = this.selector!.select(entry.slot);
    const owner = ownerId === undefined ? undefined : this.consumers.get(ownerId);
    if (!owner || !this.available(owner)) return undefined;
    if (!this.opts.keyShared?.allowOutOfOrder) {
      const holder = this.slotHolders.get(entry.slot);
      // Draining: the slot still has unacked entries on its previous consumer.
      if (holder && holder.consumerId !== owner.spec.id) return undefined;
      // A new entry must not overtake an older one of its slot waiting for redelivery.
      if (!fromReplay && this.replay.hasSlot(entry.slot)) return undefined;
    }
    return owner;
  }

  private assign(c: ConsumerState, entry: EntryMeta, key: string): Delivery {
    this.replay.remove(entry.position);
    const pending: PendingEntry = { meta: entry, consumerId: c.spec.id };
    c.pending.set(key, pending);
    this.pending.set(key, pending);
    c.permits -= entry.numMessages;
    c.unacked += entry.numMessages;
    this.totalUnacked += entry.numMessages;
    const cap = this.opts.maxUnackedPerConsumer;
    if (cap > 0 && c.unacked >= cap) c.blocked = true;
    const subCap = this.opts.maxUnackedPerSubscription;
    if (subCap > 0 && this.totalUnacked >= subCap) this.subscriptionBlocked = true;
    if (this.selector) {
      const holder = this.slotHolders.get(entry.slot);
      if (holder) holder.count++;
      else this.slotHolders.set(entry.slot, { consumerId: c.spec.id, count: 1 });
    }
    return { consumerId: c.spec.id, entry, redeliveryCount: this.redeliveryCounts.get(key) ?? 0 };
  }

  /** Unacked entries of `c` go back to the replay set with redelivery count + 1. */
  private returnPending(c: ConsumerState, keys: readonly string[]): number {
    let n = 0;
    for (const key of keys) {
      const p = c.pending.get(key);
      if (!p) continue;
      this.releasePending(key, p);
      this.redeliveryCounts.set(key, (this.redeliveryCounts.get(key) ?? 0) + 1);
      this.replay.add(p.meta.position, p.meta);
      n++;
    }
    return n;
  }

  private forget(key: string, p: Position): void {
    const pending = this.pending.get(key);
    if (pending) this.releasePending(key, pending);
    this.replay.remove(p);
    this.redeliveryCounts.delete(key);
    this.delayed?.remove(p);
  }

  private releasePending(key: string, p: PendingEntry): void {
    this.pending.delete(key);
    const c = this.consumers.get(p.consumerId);
    if (c) {
      c.pending.delete(key);
      c.unacked -= p.meta.numMessages;
      if (c.blocked && c.unacked <= this.opts.maxUnackedPerConsumer / 2) c.blocked = false;
    }
    this.totalUnacked -= p.meta.numMessages;
    if (this.subscriptionBlocked && this.totalUnacked <= this.opts.maxUnackedPerSubscription / 2) {
      this.subscriptionBlocked = false;
    }
    if (this.selector) {
      const holder = this.slotHolders.get(p.meta.slot);
      if (holder && --holder.count <= 0) this.slotHolders.delete(p.meta.slot);
    }
  }

  private learnSize(numMessages: number): void {
    this.avgMessagesPerEntry = this.avgMessagesPerEntry * 0.9 + Math.max(1, numMessages) * 0.1;
  }
}
