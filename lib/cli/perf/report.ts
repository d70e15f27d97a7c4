/** How the perf tool prints: one live line per second and a final summary (text or JSON). */
import type { IntervalReport, LatencySummary } from './stats.ts';

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function latencyText(l: LatencySummary): string {
  return `p50 ${fmt(l.p50, 2)} p95 ${fmt(l.p95, 2)} p99 ${fmt(l.p99, 2)} p99.9 ${fmt(l.p999, 2)} max ${fmt(l.max, 2)} ms`;
}

export function liveLine(what: string, r: IntervalReport, extra = ''): string {
  const lat = r.latency.count > 0 ? ` | latency ${latencyText(r.latency)}` : '';
  return `[${fmt(r.elapsedS, 1).padStart(6)} s] ${what} ${fmt(r.msgPerS).padStart(9)} msg/s ${fmt(r.mbPerS, 2).padStart(8)} MB/s${lat}${extra}`;
}

export interface Summary {
  readonly mode: string;
  readonly durationS: number;
  readonly messages: number;
  readonly bytes: number;
  readonly msgPerS: number;
  readonly mbPerS: number;
  readonly errors: number;
  readonly latencyMs: LatencySummary;
  readonly [extra: string]: unknown;
}

export function summaryText(s: Summary): string {
  const lines = [
    `${s.mode}: ${fmt(s.messages)} messages, ${fmt(s.bytes / 1e6, 2)} MB in ${fmt(s.durationS, 1)} s`,
    `  throughput ${fmt(s.msgPerS)} msg/s, ${fmt(s.mbPerS, 2)} MB/s, errors ${fmt(s.errors)}`,
    `  latency    ${latencyText(s.latencyMs)} (mean ${fmt(s.latencyMs.mean, 2)} ms, ${fmt(s.latencyMs.count)} samples)`,
  ];
  for (const [k, v] of Object.entries(s)) {
    if (['mode', 'durationS', 'messages', 'bytes', 'msgPerS', 'mbPerS', 'errors', 'latencyMs'].includes(k))
      continue;
    lines.push(
      `  ${k} ${typeof v === 'object' && v !== null && 'p50' in v ? latencyText(v as LatencySummary) : JSON.stringify(v)}`,
    );
  }
  return lines.join('\n');
}
