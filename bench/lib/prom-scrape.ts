/**
 * Reads Prometheus histograms from a process's /metrics and estimates quantiles of what was
 * observed between two scrapes (linear interpolation inside a bucket, as Prometheus does):
 * benchmarks use it to split a latency into the stages the processes measure themselves.
 */
export type HistogramSnapshot = Map<number, number>;

/** Cumulative bucket counts (upper bound → count) of one histogram, summed over label sets. */
export async function scrapeHistogram(port: number, name: string): Promise<HistogramSnapshot> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: HistogramSnapshot = new Map();
  const prefix = `${name}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/** Several histograms of one process, in the order of `names`. */
export function scrapeHistograms(port: number, names: readonly string[]): Promise<HistogramSnapshot[]> {
  return Promise.all(names.map((n) => scrapeHistogram(port, n)));
}

/** Quantiles (ms) of the observations between `before` and `after`, e.g. "p50 1.2 / p99 9.8 / n 5000". */
export function quantilesBetween(
  before: HistogramSnapshot,
  after: HistogramSnapshot,
  qs: number[] = [0.5, 0.99, 0.999],
): string {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const cum = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = cum[cum.length - 1] ?? 0;
  if (total <= 0) return 'no observations';
  const at = (q: number): string => {
    const rank = q * total;
    for (let i = 0; i < bounds.length; i++) {
      if (cum[i] < rank) continue;
      const lo = i === 0 ? 0 : bounds[i - 1];
      const loCount = i === 0 ? 0 : cum[i - 1];
      if (!Number.isFinite(bounds[i])) return `>${(lo * 1000).toFixed(1)}`;
      const frac = cum[i] === loCount ? 1 : (rank - loCount) / (cum[i] - loCount);
      return ((lo + (bounds[i] - lo) * frac) * 1000).toFixed(2);
    }
    return '?';
  };
  return `${qs.map((q) => `p${q * 100} ${at(q)}`).join(' / ')} ms (n ${total})`;
}

/** The values of gauges (first series of each name) from a process's /metrics. */
export async function scrapeGauges(port: number, names: string[]): Promise<number[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const lines = text.split('\n');
  return names.map((n) => {
    const line = lines.find((l) => l.startsWith(`${n} `) || l.startsWith(`${n}{`));
    return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
  });
}

/** Event-loop delay of a process since its previous scrape (prom-client resets it per collect). */
export async function eventLoopDelay(port: number): Promise<string> {
  const [p50, p99, max] = await scrapeGauges(port, [
    'magnetar_nodejs_eventloop_lag_p50_seconds',
    'magnetar_nodejs_eventloop_lag_p99_seconds',
    'magnetar_nodejs_eventloop_lag_max_seconds',
  ]);
  const ms = (s: number) => (Number.isNaN(s) ? '?' : (s * 1000).toFixed(1));
  return `event-loop delay p50 ${ms(p50)} / p99 ${ms(p99)} / max ${ms(max)} ms (a 10 ms sampling timer, so ~10 when idle)`;
}
