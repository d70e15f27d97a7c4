/**
 * Reusable rate limiters for publish, dispatch and subscribe rates. A token bucket per dimension
 * (messages, bytes) refills continuously at `rate / period` and holds at most one period's worth.
 * Two ways to use it:
 *  - ask first (dispatch): `permits()` says how much may go now; `record()` what went.
 *  - account after the fact (publish, as Pulsar does): `record()` each message, which may run the
 *    bucket into debt; while `isThrottled()` stop reading from the producer's connection and look
 *    again after `msUntilUnthrottled()`.
 * A rate <= 0 means unlimited in that dimension (Pulsar: 0 and -1 disable throttling). The clock is
 * injected so tests are deterministic.
 */

export type Clock = () => number;

export interface RateLimit {
  /** Messages per period; <= 0 = unlimited. */
  readonly msgs: number;
  /** Bytes per period; <= 0 = unlimited. */
  readonly bytes: number;
  readonly periodMs: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly capacity: number;
  private readonly perMs: number;
  private readonly clock: Clock;

  constructor(ratePerPeriod: number, periodMs: number, clock: Clock) {
    if (!(ratePerPeriod > 0) || !(periodMs > 0))
      throw new Error('TokenBucket needs a positive rate and period');
    this.capacity = ratePerPeriod;
    this.perMs = ratePerPeriod / periodMs;
    this.clock = clock;
    this.tokens = ratePerPeriod;
    this.last = clock();
  }

  private refill(): void {
    const now = this.clock();
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.perMs);
      this.last = now;
    }
  }

  /** Whole tokens available now (negative while in debt). */
  available(): number {
    this.refill();
    return Math.floor(this.tokens);
  }

  /** Take `n` if all are available. */
  tryAcquire(n: number): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Take `n` unconditionally (may go into debt). */
  consume(n: number): void {
    this.refill();
    this.tokens -= n;
  }

  /** Milliseconds until `n` tokens are available (0 if they are now). */
  msUntil(n: number): number {
    this.refill();
    const need = Math.min(n, this.capacity) - this.tokens;
    return need <= 0 ? 0 : Math.ceil(need / this.perMs);
  }
}

export class RateLimiter {
  private msgBucket: TokenBucket | undefined;
  private byteBucket: TokenBucket | undefined;
  private limit: RateLimit;
  private readonly clock: Clock;

  constructor(limit: RateLimit, clock: Clock = Date.now) {
    this.clock = clock;
    this.limit = limit;
    this.msgBucket = limit.msgs > 0 ? new TokenBucket(limit.msgs, limit.periodMs, clock) : undefined;
    this.byteBucket = limit.bytes > 0 ? new TokenBucket(limit.bytes, limit.periodMs, clock) : undefined;
  }

  get enabled(): boolean {
    return this.msgBucket !== undefined || this.byteBucket !== undefined;
  }

  get current(): RateLimit {
    return this.limit;
  }

  /** Apply a new policy (a policy change); resets the buckets only when the limit changed. */
  update(limit: RateLimit): void {
    const l = this.limit;
    if (l.msgs === limit.msgs && l.bytes === limit.bytes && l.periodMs === limit.periodMs) return;
    this.limit = limit;
    this.msgBucket = limit.msgs > 0 ? new TokenBucket(limit.msgs, limit.periodMs, this.clock) : undefined;
    this.byteBucket = limit.bytes > 0 ? new TokenBucket(limit.bytes, limit.periodMs, this.clock) : undefined;
  }

  /** Ask first: take (msgs, bytes) only if both fit now. */
  tryAcquire(msgs: number, bytes: number): boolean {
    const m = this.msgBucket;
    const b = this.byteBucket;
    if (m && m.available() < msgs) return false;
    if (b && b.available() < bytes) return false;
    m?.consume(msgs);
    b?.consume(bytes);
    return true;
  }

  /** Account after the fact (may run into debt). */
  record(msgs: number, bytes: number): void {
    this.msgBucket?.consume(msgs);
    this.byteBucket?.consume(bytes);
  }

  /** What may go now; Infinity in an unlimited dimension. */
  permits(): { msgs: number; bytes: number } {
    return {
      msgs: this.msgBucket ? Math.max(0, this.msgBucket.available()) : Number.POSITIVE_INFINITY,
      bytes: this.byteBucket ? Math.max(0, this.byteBucket.available()) : Number.POSITIVE_INFINITY,
    };
  }

  isThrottled(): boolean {
    return (this.msgBucket?.available() ?? 1) <= 0 || (this.byteBucket?.available() ?? 1) <= 0;
  }

  /** Milliseconds until at least one message and one byte may go again. */
  msUntilUnthrottled(): number {
    return Math.max(this.msgBucket?.msUntil(1) ?? 0, this.byteBucket?.msUntil(1) ?? 0);
  }
}

/** Helpers from the policy shapes to a RateLimit. */
export function publishLimit(rate: {
  publishThrottlingRateInMsg: number;
  publishThrottlingRateInByte: number;
}): RateLimit {
  return { msgs: rate.publishThrottlingRateInMsg, bytes: rate.publishThrottlingRateInByte, periodMs: 1000 };
}

export function dispatchLimit(rate: {
  dispatchThrottlingRateInMsg: number;
  dispatchThrottlingRateInByte: number;
  ratePeriodInSecond: number;
}): RateLimit {
  return {
    msgs: rate.dispatchThrottlingRateInMsg,
    bytes: rate.dispatchThrottlingRateInByte,
    periodMs: Math.max(1, rate.ratePeriodInSecond) * 1000,
  };
}

export function subscribeLimit(rate: {
  subscribeThrottlingRatePerConsumer: number;
  ratePeriodInSecond: number;
}): RateLimit {
  return {
    msgs: rate.subscribeThrottlingRatePerConsumer,
    bytes: 0,
    periodMs: Math.max(1, rate.ratePeriodInSecond) * 1000,
  };
}
