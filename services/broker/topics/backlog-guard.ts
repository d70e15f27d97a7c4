/**
 * Backlog quota enforcement for one persistent topic (pulsar-features.md §2.4, internals.md §4.1).
 * The decision is lib/policies' `decideBacklogQuota`; this class applies it:
 *  - producer_request_hold → new producers are refused with ProducerBlockedQuotaExceededError
 *    (clients retry) and SENDs of existing producers are held, in arrival order, until the
 *    backlog falls below the quota (held SENDs count against the connection's pending-send
 *    bounds, so the socket pauses when too many wait);
 *  - producer_exception → new producers and SENDs are refused with
 *    ProducerBlockedQuotaExceededException;
 *  - consumer_backlog_eviction → the slowest subscriptions are moved forward (skip entries for
 *    the size quota, expire old messages for the age quota).
 *
 * The size quota is cheap (cursor counters) and is evaluated after every publish and every
 * cursor move; the age quota needs the oldest unacknowledged entry of each subscription, which is
 * read by the periodic check (`checkAll`) and cached until then.
 */
import {
  decideBacklogQuota,
  type EvictionStep,
  producersAllowed,
  type QuotaDecision,
  type SubscriptionBacklog,
} from '../../../lib/policies/backlog-quota.ts';
import type { BacklogQuota, BacklogQuotaType } from '../../../lib/policies/types.ts';
import type { Logger } from '../../../lib/log/index.ts';
import { brokerErrors } from '../errors.ts';

export interface BacklogSource {
  readonly topic: string;
  readonly log: Logger;
  /** Durable subscriptions' backlog now (bytes and entries from the cursors). */
  subscriptionBacklogs(): Omit<SubscriptionBacklog, 'oldestUnackedPublishTimeMs'>[];
  /** Publish time of the oldest unacknowledged entry of a subscription (undefined if none). */
  oldestUnackedPublishTime(subscription: string): Promise<number | undefined>;
  /** Move subscriptions forward as the decision (made as of `nowMs`) says. */
  evict(steps: readonly EvictionStep[], nowMs: number): Promise<void>;
}

type Quotas = Partial<Record<BacklogQuotaType, BacklogQuota>>;

const NO_ACTION: QuotaDecision = { action: 'none', exceeded: [], evictions: [] };

interface Held {
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class BacklogGuard {
  private readonly source: BacklogSource;
  private quotas: Quotas = {};
  private decision: QuotaDecision = NO_ACTION;
  private held: Held[] = [];
  /** Oldest unacked publish time per subscription, from the last full check. */
  private readonly oldest = new Map<string, number>();
  private evicting: Promise<void> | undefined;
  private closed = false;
  /** Counters for stats and tests. */
  heldTotal = 0;
  rejectedTotal = 0;
  evictionsTotal = 0;

  constructor(source: BacklogSource) {
    this.source = source;
  }

  get action(): QuotaDecision['action'] {
    return this.decision.action;
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** New quotas (load or policy change). */
  setQuotas(quotas: Quotas, nowMs: number): void {
    this.quotas = { ...quotas };
    if (!this.quotas.message_age) this.oldest.clear();
    this.evaluate(nowMs);
  }

  /** Cheap re-evaluation (after a publish, an ack, a subscription change). */
  evaluate(nowMs: number, allowEviction = true): void {
    if (this.closed) return;
    if (this.quotas.destination_storage === undefined && this.quotas.message_age === undefined) {
      this.apply(NO_ACTION, false);
      return;
    }
    const subscriptions: SubscriptionBacklog[] = this.source.subscriptionBacklogs().map((s) => ({
      ...s,
      oldestUnackedPublishTimeMs: s.backlogEntries > 0 ? this.oldest.get(s.name) : undefined,
    }));
    let backlogBytes = 0;
    for (const s of subscriptions) backlogBytes = Math.max(backlogBytes, s.backlogBytes);
    this.apply(decideBacklogQuota(this.quotas, { backlogBytes, subscriptions }, nowMs), allowEviction, nowMs);
  }

  /** The periodic check: refresh the age figures, decide, and wait for any eviction. */
  async checkAll(nowMs: number): Promise<void> {
    if (this.closed) return;
    if (this.quotas.message_age) {
      this.oldest.clear();
      for (const s of this.source.subscriptionBacklogs()) {
        if (s.backlogEntries === 0) continue;
        const t = await this.source.oldestUnackedPublishTime(s.name);
        if (t !== undefined) this.oldest.set(s.name, t);
      }
    }
    this.evaluate(nowMs);
    await this.evicting;
  }

  /** PRODUCER: refuse while producers are blocked. */
  admitProducer(nowMs: number): void {
    this.evaluate(nowMs);
    this.throwIfBlocked();
  }

  /**
   * SEND: undefined = go on now; a promise = held until the backlog falls (resolves in arrival
   * order); throws while publishing is refused.
   */
  beforePublish(): Promise<void> | undefined {
    if (this.decision.action === 'reject') {
      this.rejectedTotal++;
      throw this.error('BACKLOG_QUOTA_EXCEEDED');
    }
    if (this.decision.action !== 'hold' && this.held.length === 0) return undefined;
    this.heldTotal++;
    return new Promise<void>((resolve, reject) => this.held.push({ resolve, reject }));
  }

  /** Topic closing: held SENDs fail with `err` (the client re-sends after reconnecting). */
  close(err: unknown): void {
    this.closed = true;
    const held = this.held;
    this.held = [];
    for (const h of held) h.reject(err);
  }

  private throwIfBlocked(): void {
    if (this.decision.action === 'hold') throw this.error('BACKLOG_QUOTA_HOLD');
    if (this.decision.action === 'reject') throw this.error('BACKLOG_QUOTA_EXCEEDED');
  }

  private error(code: 'BACKLOG_QUOTA_HOLD' | 'BACKLOG_QUOTA_EXCEEDED') {
    return brokerErrors.make(code, { topic: this.source.topic, quota: this.decision.exceeded.join(', ') });
  }

  private apply(d: QuotaDecision, allowEviction: boolean, nowMs = Date.now()): void {
    const before = this.decision.action;
    this.decision = d;
    if (before !== d.action) {
      this.source.log.info(
        { topic: this.source.topic, action: d.action, exceeded: d.exceeded },
        'backlog quota state changed',
      );
    }
    if (allowEviction && d.evictions.length > 0 && !this.evicting) this.startEviction(d.evictions, nowMs);
    if (producersAllowed(d) && this.held.length > 0) {
      // Release in arrival order: the continuations run before any later SEND is read.
      const held = this.held;
      this.held = [];
      for (const h of held) h.resolve();
    }
  }

  private startEviction(steps: readonly EvictionStep[], nowMs: number): void {
    this.evictionsTotal++;
    this.evicting = this.source
      .evict(steps, nowMs)
      .catch((err: unknown) =>
        this.source.log.warn({ err, topic: this.source.topic }, 'backlog eviction failed'),
      )
      .finally(() => {
        this.evicting = undefined;
        // Re-decide with the new figures, without chaining another eviction from here.
        this.evaluate(nowMs, false);
      });
  }
}
