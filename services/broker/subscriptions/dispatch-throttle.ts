/**
 * Dispatch rates of one subscription: its own limit (subscriptionDispatchRate) and the topic's
 * shared one (dispatchRate), both lib/policies RateLimiters. A read asks `budget()` first and
 * takes at most that many messages / bytes; what was sent is `record`ed on both. Entries are
 * counted as messages before reading (a batch may overshoot, as in Pulsar; the debt is paid by
 * waiting longer next time).
 */
import { type RateLimit, RateLimiter } from '../../../lib/policies/rate-limiter.ts';

export type DispatchBudget =
  | { readonly kind: 'go'; readonly msgs: number; readonly bytes: number }
  | { readonly kind: 'wait'; readonly ms: number };

export class DispatchThrottle {
  private readonly own = new RateLimiter({ msgs: 0, bytes: 0, periodMs: 1000 });
  private readonly topic: RateLimiter | undefined;
  /** Reads that had to wait for tokens (stats, tests). */
  waits = 0;

  constructor(topic: RateLimiter | undefined) {
    this.topic = topic;
  }

  update(limit: RateLimit): void {
    this.own.update(limit);
  }

  /** True when this subscription has a dispatch rate of its own. */
  get limited(): boolean {
    return this.own.enabled;
  }

  budget(): DispatchBudget {
    const limiters = this.active();
    let msgs = Number.POSITIVE_INFINITY;
    let bytes = Number.POSITIVE_INFINITY;
    for (const l of limiters) {
      if (l.isThrottled()) {
        this.waits++;
        return { kind: 'wait', ms: Math.max(1, ...limiters.map((x) => x.msUntilUnthrottled())) };
      }
      const p = l.permits();
      msgs = Math.min(msgs, p.msgs);
      bytes = Math.min(bytes, p.bytes);
    }
    return { kind: 'go', msgs: Math.max(1, msgs), bytes: Math.max(1, bytes) };
  }

  record(msgs: number, bytes: number): void {
    this.own.record(msgs, bytes);
    this.topic?.record(msgs, bytes);
  }

  private active(): RateLimiter[] {
    const out: RateLimiter[] = [];
    if (this.own.enabled) out.push(this.own);
    if (this.topic?.enabled) out.push(this.topic);
    return out;
  }
}
