/**
 * Dispatch state machine of Exclusive and Failover subscriptions (internals.md §4.3), pure.
 * One consumer is active and receives every entry in cursor order (total order). Redelivery is a
 * rewind of the cursor's read position to the first unacknowledged entry, which the driver
 * performs when `takeEffects` says so.
 *
 *  - Exclusive: a second consumer is refused (ConsumerBusy).
 *  - Failover: the active consumer is chosen by (priority, name), or `partition mod N` for a
 *    partition (selectors.ts). Every change is announced to every consumer; the new active one
 *    gets everything unacknowledged again (rewind). When it takes over from a consumer that is
 *    still connected, dispatch waits `failoverDelayMs` so the old one can finish its acks.
 *  - Redelivery counts: entries dispatched and not acked when a rewind happens count one more
 *    redelivery.
 */
import { comparePositions } from '../managed-ledger/api.ts';
import { chooseActive } from './selectors.ts';
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

export type SingleActiveEffect =
  /** Move the cursor's read position back to the first unacknowledged entry. */
  | { readonly kind: 'rewind' }
  /** Read position back to this entry (entries from it on were read but not delivered). */
  | { readonly kind: 'seek'; readonly position: Position }
  /** Tell each listed consumer whether it is now the active one. */
  | {
      readonly kind: 'active-changed';
      readonly activeId: number | undefined;
      readonly consumerIds: readonly number[];
    }
  /** Dispatch may resume at this time (failover delay). */
  | { readonly kind: 'resume-at'; readonly atMs: number };

export interface SingleActiveOptions {
  readonly exclusive: boolean;
  /** Partition index of the topic, −1 when not partitioned. */
  readonly partitionIndex: number;
  readonly maxReadBatch: number;
  readonly failoverDelayMs: number;
}

interface ConsumerState {
  readonly spec: ConsumerSpec;
  permits: number;
  paused: boolean;
  readonly pending: Map<string, EntryMeta>;
}

export class SingleActiveDispatcher {
  private readonly opts: SingleActiveOptions;
  private readonly consumers = new Map<number, ConsumerState>();
  private activeId: number | undefined;
  private readonly redeliveryCounts = new Map<string, number>();
  private effects: SingleActiveEffect[] = [];
  /** No dispatch before this time (failover delay). */
  private holdUntilMs = 0;
  private avgMessagesPerEntry = 1;

  constructor(opts: SingleActiveOptions) {
    this.opts = opts;
  }

  get consumerCount(): number {
    return this.consumers.size;
  }

  get active(): number | undefined {
    return this.activeId;
  }

  addConsumer(spec: ConsumerSpec, nowMs: number): AddConsumerResult {
    if (this.consumers.has(spec.id))
      return { ok: false, code: 'CONSUMER_BUSY', reason: 'consumer already attached' };
    if (this.opts.exclusive && this.consumers.size > 0) {
      return { ok: false, code: 'CONSUMER_BUSY', reason: 'exclusive and already has a consumer' };
    }
    this.consumers.set(spec.id, { spec, permits: 0, paused: false, pending: new Map() });
    this.pickActive(nowMs, true);
    // A newcomer that did not change the active consumer still learns who is active.
    if (this.activeId !== spec.id && !this.effects.some((e) => e.kind === 'active-changed')) {
      this.effects.push({ kind: 'active-changed', activeId: this.activeId, consumerIds: [spec.id] });
    }
    return { ok: true };
  }

  removeConsumer(id: number, nowMs: number): void {
    const c = this.consumers.get(id);
    if (!c) return;
    const wasActive = this.activeId === id;
    if (wasActive) this.countRedeliveries(c);
    this.consumers.delete(id);
    if (wasActive) {
      this.activeId = undefined;
      this.effects.push({ kind: 'rewind' });
    }
    this.pickActive(nowMs, false);
  }

  flow(id: number, permits: number): void {
    const c = this.consumers.get(id);
    if (c && permits > 0) c.permits += permits;
  }

  setPaused(id: number, paused: boolean): void {
    const c = this.consumers.get(id);
    if (c) c.paused = paused;
  }

  acked(positions: readonly Position[]): void {
    for (const p of positions) {
      const key = posKey(p);
      for (const c of this.consumers.values()) c.pending.delete(key);
      this.redeliveryCounts.delete(key);
    }
  }

  ackedUpTo(p: Position): void {
    for (const c of this.consumers.values()) {
      for (const [key, meta] of [...c.pending])
        if (comparePositions(meta.position, p) <= 0) c.pending.delete(key);
    }
    for (const key of [...this.redeliveryCounts.keys()]) {
      const [l, e] = key.split(':').map(Number);
      if (comparePositions({ ledgerId: l, entryId: e }, p) <= 0) this.redeliveryCounts.delete(key);
    }
  }

  /** Any redelivery request rewinds (the ids are not needed: everything unacked comes again). */
  redeliver(consumerId: number): void {
    const c = this.consumers.get(consumerId);
    if (!c || consumerId !== this.activeId) return;
    this.countRedeliveries(c);
    this.effects.push({ kind: 'rewind' });
  }

  reset(): void {
    for (const c of this.consumers.values()) c.pending.clear();
    this.redeliveryCounts.clear();
  }

  planRead(nowMs: number): ReadPlan {
    const c = this.activeId === undefined ? undefined : this.consumers.get(this.activeId);
    if (!c || c.permits <= 0 || c.paused || nowMs < this.holdUntilMs) return { kind: 'idle' };
    const byPermits = Math.ceil(c.permits / Math.max(1, this.avgMessagesPerEntry));
    return { kind: 'read', maxEntries: Math.max(1, Math.min(this.opts.maxReadBatch, byPermits)) };
  }

  /**
   * Assign entries read from the cursor, in order, to the active consumer while it has permits;
   * the rest are handed back with a `seek` effect so the cursor reads them again later.
   */
  dispatch(entries: readonly EntryMeta[], nowMs: number): Delivery[] {
    const out: Delivery[] = [];
    const c = this.activeId === undefined ? undefined : this.consumers.get(this.activeId);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      this.learnSize(entry.numMessages);
      if (!c || c.permits <= 0 || c.paused || nowMs < this.holdUntilMs) {
        this.effects.push({ kind: 'seek', position: entry.position });
        break;
      }
      const key = posKey(entry.position);
      c.pending.set(key, entry);
      c.permits -= entry.numMessages;
      out.push({ consumerId: c.spec.id, entry, redeliveryCount: this.redeliveryCounts.get(key) ?? 0 });
    }
    return out;
  }

  /**
   * Deliveries from `from` on could not be written (the consumer's socket filled up): forget
   * them (permits restored, no redelivery counted) and read them again later.
   */
  undeliver(consumerId: number, from: Position): void {
    const c = this.consumers.get(consumerId);
    if (!c) return;
    for (const [key, meta] of [...c.pending]) {
      if (comparePositions(meta.position, from) < 0) continue;
      c.pending.delete(key);
      c.permits += meta.numMessages;
    }
    this.effects.push({ kind: 'seek', position: from });
  }

  takeEffects(): SingleActiveEffect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }

  redeliveryCount(p: Position): number {
    return this.redeliveryCounts.get(posKey(p)) ?? 0;
  }

  consumerStats(id: number): ConsumerDispatchStats | undefined {
    const c = this.consumers.get(id);
    if (!c) return undefined;
    let unacked = 0;
    for (const m of c.pending.values()) unacked += m.numMessages;
    return {
      permits: c.permits,
      unackedMessages: unacked,
      blockedOnUnacked: false,
      pendingEntries: c.pending.size,
    };
  }

  get unackedMessages(): number {
    let n = 0;
    for (const c of this.consumers.values()) for (const m of c.pending.values()) n += m.numMessages;
    return n;
  }

  private pickActive(nowMs: number, joined: boolean): void {
    const next = chooseActive(
      [...this.consumers.values()].map((c) => c.spec),
      this.opts.partitionIndex,
    )?.id;
    if (next === this.activeId) return;
    const previous = this.activeId === undefined ? undefined : this.consumers.get(this.activeId);
    if (previous) {
      this.countRedeliveries(previous);
      this.effects.push({ kind: 'rewind' });
    }
    this.activeId = next;
    if (joined && previous && this.opts.failoverDelayMs > 0) {
      this.holdUntilMs = nowMs + this.opts.failoverDelayMs;
      this.effects.push({ kind: 'resume-at', atMs: this.holdUntilMs });
    }
    this.effects.push({ kind: 'active-changed', activeId: next, consumerIds: [...this.consumers.keys()] });
  }

  private countRedeliveries(c: ConsumerState): void {
    for (const key of c.pending.keys())
      this.redeliveryCounts.set(key, (this.redeliveryCounts.get(key) ?? 0) + 1);
    c.pending.clear();
  }

  private learnSize(numMessages: number): void {
    this.avgMessagesPerEntry = this.avgMessagesPerEntry * 0.9 + Math.max(1, numMessages) * 0.1;
  }
}
