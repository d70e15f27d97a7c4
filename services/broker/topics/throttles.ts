/**
 * Rate policies that are not dispatch (dispatch throttling lives in the subscription's read loop):
 *  - publish rate (messages/s, bytes/s per topic): every stored message is recorded; while the
 *    bucket is in debt every producer of the topic has its connection's input paused (no frame
 *    is read or decoded), and all resume when the bucket refills. Nothing is dropped: SENDs simply
 *    wait in the client and in the socket.
 *  - subscribe rate (subscribes per consumer per period, keyed by client host and consumer name):
 *    a SUBSCRIBE above it is refused with TooManyRequests (clients retry).
 * Both use lib/policies' RateLimiter (token buckets); a limit <= 0 disables a dimension.
 */
import { type RateLimit, RateLimiter } from '../../../lib/policies/rate-limiter.ts';
import { brokerErrors } from '../errors.ts';
import type { ProducerEndpoint } from './topic.ts';

export class PublishThrottle {
  private readonly limiter: RateLimiter;
  private readonly producers: () => readonly ProducerEndpoint[];
  private paused = new Set<ProducerEndpoint>();
  private timer: NodeJS.Timeout | undefined;
  /** Times the topic's producers were paused (stats, tests). */
  throttledTotal = 0;

  constructor(limit: RateLimit, producers: () => readonly ProducerEndpoint[]) {
    this.limiter = new RateLimiter(limit);
    this.producers = producers;
  }

  get throttled(): boolean {
    return this.timer !== undefined;
  }

  update(limit: RateLimit): void {
    this.limiter.update(limit);
    if (!this.limiter.enabled) this.resume();
  }

  /** A publish was accepted: account it, and pause the producers while over the rate. */
  record(msgs: number, bytes: number): void {
    if (!this.limiter.enabled) return;
    this.limiter.record(msgs, bytes);
    if (this.timer || !this.limiter.isThrottled()) return;
    this.throttledTotal++;
    for (const p of this.producers()) this.pause(p);
    this.schedule();
  }

  /** A producer joining while throttled waits with the others. */
  added(p: ProducerEndpoint): void {
    if (this.timer) this.pause(p);
  }

  removed(p: ProducerEndpoint): void {
    if (this.paused.delete(p)) p.throttle(false);
  }

  close(): void {
    this.resume();
  }

  private pause(p: ProducerEndpoint): void {
    if (this.paused.has(p)) return;
    this.paused.add(p);
    p.throttle(true);
  }

  private schedule(): void {
    const wait = Math.max(1, this.limiter.msUntilUnthrottled());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.limiter.enabled && this.limiter.isThrottled()) return this.schedule();
      this.resume();
    }, wait);
    this.timer.unref();
  }

  private resume(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const paused = this.paused;
    this.paused = new Set();
    for (const p of paused) p.throttle(false);
  }
}

/** Subscribe rate per consumer identity, with a bounded number of tracked identities. */
export class SubscribeRateGate {
  private limit: RateLimit;
  private readonly maxTracked: number;
  private readonly buckets = new Map<string, RateLimiter>();
  private readonly topic: string;

  constructor(topic: string, limit: RateLimit, maxTracked: number) {
    this.topic = topic;
    this.limit = limit;
    this.maxTracked = maxTracked;
  }

  update(limit: RateLimit): void {
    const l = this.limit;
    if (l.msgs === limit.msgs && l.periodMs === limit.periodMs) return;
    this.limit = limit;
    this.buckets.clear();
  }

  /** Throws SUBSCRIBE_RATE_EXCEEDED when this consumer subscribed too often in the period. */
  admit(clientAddress: string, consumerName: string): void {
    if (this.limit.msgs <= 0) return;
    const host = clientAddress.slice(0, Math.max(0, clientAddress.lastIndexOf(':')));
    const key = `${host}/${consumerName}`;
    let bucket = this.buckets.get(key);
    if (bucket) {
      this.buckets.delete(key); // re-insert: the map's order is least recently used first
    } else {
      bucket = new RateLimiter({ msgs: this.limit.msgs, bytes: 0, periodMs: this.limit.periodMs });
      while (this.buckets.size >= this.maxTracked) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
      }
    }
    this.buckets.set(key, bucket);
    if (!bucket.tryAcquire(1, 0)) {
      throw brokerErrors.make('SUBSCRIBE_RATE_EXCEEDED', {
        consumer: key,
        rate: this.limit.msgs,
        periodSeconds: this.limit.periodMs / 1000,
        topic: this.topic,
      });
    }
  }
}
