/**
 * Counters with rates for stats (msgRateIn, msgThroughputOut...). A rate is the counter's growth
 * over the last completed window (default 10 s, like a coarse version of Pulsar's stats interval),
 * computed on demand: no timers.
 */
export class RateMeter {
  private readonly windowMs: number;
  private readonly now: () => number;
  total = 0;
  private windowStart: number;
  private windowStartTotal = 0;
  private lastRate = 0;

  constructor(windowMs = 10_000, now: () => number = Date.now) {
    this.windowMs = windowMs;
    this.now = now;
    this.windowStart = now();
  }

  add(n: number): void {
    this.roll();
    this.total += n;
  }

  /** Per second, over the last completed window. */
  rate(): number {
    this.roll();
    return this.lastRate;
  }

  private roll(): void {
    const t = this.now();
    const elapsed = t - this.windowStart;
    if (elapsed < this.windowMs) return;
    this.lastRate = ((this.total - this.windowStartTotal) * 1000) / elapsed;
    this.windowStart = t;
    this.windowStartTotal = this.total;
  }
}

/** Messages + bytes counted together. */
export class TrafficMeter {
  readonly msgs: RateMeter;
  readonly bytes: RateMeter;

  constructor(windowMs?: number, now?: () => number) {
    this.msgs = new RateMeter(windowMs, now);
    this.bytes = new RateMeter(windowMs, now);
  }

  add(msgs: number, bytes: number): void {
    this.msgs.add(msgs);
    this.bytes.add(bytes);
  }
}
