/** Latency histograms for benchmarks (hdr-histogram-js), recorded in microseconds. */
import * as hdr from 'hdr-histogram-js';

export interface LatencyHistogram {
  record(micros: number, count?: number): void;
  readonly count: number;
  /** "p50 / p99 / p99.9 ms". */
  summary(): string;
  percentileMs(p: number): number;
}

export function latencyHistogram(): LatencyHistogram {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
  return {
    record(micros, count = 1) {
      const v = Math.max(1, Math.round(micros));
      if (count === 1) h.recordValue(v);
      else h.recordValueWithCount(v, count);
    },
    get count() {
      return h.totalCount;
    },
    percentileMs: (p) => h.getValueAtPercentile(p) / 1000,
    summary() {
      const f = (p: number) => (h.getValueAtPercentile(p) / 1000).toFixed(2);
      return `${f(50)} / ${f(99)} / ${f(99.9)}`;
    },
  };
}
