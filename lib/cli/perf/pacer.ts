/**
 * Open-loop pacing for a target rate: how many messages are due by now so that, on average, the
 * rate is held (a late tick sends the backlog at once, like pulsar-perf). Pure: the caller brings
 * the clock. A rate of 0 means "as fast as possible" (the caller keeps its queue full instead).
 */
export class Pacer {
  private readonly ratePerS: number;
  private readonly startMs: number;
  private sent = 0;

  constructor(ratePerS: number, startMs: number) {
    this.ratePerS = ratePerS;
    this.startMs = startMs;
  }

  get unlimited(): boolean {
    return this.ratePerS <= 0;
  }

  /** Messages to send now. */
  due(nowMs: number): number {
    if (this.unlimited) return Number.POSITIVE_INFINITY;
    const target = Math.floor(((nowMs - this.startMs) / 1000) * this.ratePerS);
    return Math.max(0, target - this.sent);
  }

  sentOne(): void {
    this.sent++;
  }
}
