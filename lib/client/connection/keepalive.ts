/**
 * Keep-alive decisions for one connection (pulsar-protocol.md §5.2.12): after an interval with
 * nothing received, send PING; if a whole further interval passes with still nothing received,
 * the peer is gone and the connection is closed. Pure: the driver feeds it the clock.
 */
export type KeepAliveAction = 'none' | 'ping' | 'dead';

export class KeepAlive {
  private readonly intervalMs: number;
  private lastReceivedMs: number;
  private pingSentMs: number | undefined;

  constructor(intervalMs: number, nowMs: number) {
    this.intervalMs = intervalMs;
    this.lastReceivedMs = nowMs;
  }

  /** Any frame from the peer proves it alive. */
  received(nowMs: number): void {
    this.lastReceivedMs = nowMs;
    this.pingSentMs = undefined;
  }

  tick(nowMs: number): KeepAliveAction {
    if (this.pingSentMs !== undefined) {
      return nowMs - this.pingSentMs >= this.intervalMs ? 'dead' : 'none';
    }
    if (nowMs - this.lastReceivedMs >= this.intervalMs) {
      this.pingSentMs = nowMs;
      return 'ping';
    }
    return 'none';
  }
}
