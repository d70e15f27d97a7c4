/**
 * Exponential backoff for reconnects and retried lookups: initial, ×2 per attempt, capped, with
 * up to 10 % random jitter subtracted so many clients do not retry in lockstep. Pure apart from
 * the injected random source.
 */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private nextMs: number;
  private attemptCount = 0;

  constructor(initialMs: number, maxMs: number, random: () => number = Math.random) {
    if (initialMs <= 0 || maxMs < initialMs) throw new Error(`bad backoff bounds ${initialMs}..${maxMs}`);
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.random = random;
    this.nextMs = initialMs;
  }

  /** Attempts since the last reset. */
  get attempts(): number {
    return this.attemptCount;
  }

  /** The delay before the next attempt. */
  next(): number {
    const base = this.nextMs;
    this.nextMs = Math.min(this.maxMs, base * 2);
    this.attemptCount++;
    const jitter = Math.floor(base * 0.1 * this.random());
    return Math.max(1, base - jitter);
  }

  reset(): void {
    this.nextMs = this.initialMs;
    this.attemptCount = 0;
  }
}
