/**
 * Throughput and latency accounting for the perf tool: message and byte counters, an interval
 * histogram (reset every report) and a total one, both hdr-histogram-js in microseconds.
 */
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
  readonly count: number;
}

export interface IntervalReport {
  readonly elapsedS: number;
  readonly msgPerS: number;
  readonly mbPerS: number;
  /** ms */
  readonly latency: LatencySummary;
}

function histogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

export function summarize(h: hdr.Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  if (h.totalCount === 0) return { p50: 0, p95: 0, p99: 0, p999: 0, max: 0, mean: 0, count: 0 };
  // Percentiles are bucket upper bounds; never report one above the recorded maximum.
  const at = (p: number) => ms(Math.min(h.getValueAtPercentile(p), h.maxValue));
  return {
    p50: at(50),
    p95: at(95),
    p99: at(99),
    p999: at(99.9),
    max: ms(h.maxValue),
    mean: ms(h.mean),
    count: h.totalCount,
  };
}

export class PerfStats {
  private readonly interval = histogram();
  private readonly total = histogram();
  private intervalMessages = 0;
  private intervalBytes = 0;
  private intervalStart: number;
  readonly startedAt: number;
  messages = 0;
  bytes = 0;
  errors = 0;
  private readonly cpuStart = process.cpuUsage();

  constructor(now = performance.now()) {
    this.startedAt = now;
    this.intervalStart = now;
  }

  /** This process's CPU time (user + system) per message so far, in µs. */
  cpuMicrosPerMessage(): number {
    const used = process.cpuUsage(this.cpuStart);
    return this.messages > 0 ? Math.round(((used.user + used.system) / this.messages) * 10) / 10 : 0;
  }

  /** One message of `bytes`, with its latency in ms when known. */
  record(bytes: number, latencyMs?: number): void {
    this.messages++;
    this.bytes += bytes;
    this.intervalMessages++;
    this.intervalBytes += bytes;
    if (latencyMs !== undefined) {
      const us = Math.max(1, Math.round(latencyMs * 1000));
      this.interval.recordValue(us);
      this.total.recordValue(us);
    }
  }

  /** The numbers since the last call, then start a new interval. */
  takeInterval(now = performance.now()): IntervalReport {
    const seconds = Math.max(1e-6, (now - this.intervalStart) / 1000);
    const report: IntervalReport = {
      elapsedS: Math.round((now - this.startedAt) / 100) / 10,
      msgPerS: Math.round(this.intervalMessages / seconds),
      mbPerS: Math.round((this.intervalBytes / seconds / 1e6) * 100) / 100,
      latency: summarize(this.interval),
    };
    this.interval.reset();
    this.intervalMessages = 0;
    this.intervalBytes = 0;
    this.intervalStart = now;
    return report;
  }

  totalLatency(): LatencySummary {
    return summarize(this.total);
  }
}
