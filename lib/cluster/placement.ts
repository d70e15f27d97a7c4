/**
 * Where a bundle goes: pure choice of a broker from the brokers' load reports (internals.md §5.4).
 * A broker's load score is its most constrained resource as a fraction: max(CPU, memory,
 * message rate / sized rate, bytes rate / sized rate). Placement prefers brokers below the overload
 * threshold, then those within `scoreTolerance` of the least loaded, then the fewest bundles
 * (counting assignments in flight), then a stable hash of (bundle, broker) so that equal brokers
 * share new bundles evenly and every process makes the same choice from the same data.
 */
import { crc32 } from 'node:zlib';

export interface BrokerLoadView {
  readonly id: string;
  readonly draining: boolean;
  /** 0..1 of the process's CPU budget. */
  readonly cpuUsage: number;
  /** 0..1 of the memory limit. */
  readonly memoryUsage: number;
  /** Messages in + out per second. */
  readonly msgRate: number;
  /** Bytes in + out per second. */
  readonly bytesRate: number;
  /** Bundles owned or being assigned to it (from the ownership view). */
  readonly bundles: number;
}

export interface LoadLimits {
  /** Message rate (in + out) a broker is sized for: that rate scores 1.0. */
  readonly brokerMaxMsgRate: number;
  /** Byte rate (in + out) a broker is sized for. */
  readonly brokerMaxBytesPerSec: number;
}

export interface PlacementOptions {
  readonly overloadThreshold: number;
  readonly scoreTolerance: number;
  /** Avoid this broker when another qualifies (the previous owner of a shed bundle). */
  readonly avoid?: string;
  /** Assignments this process made that the view does not show yet. */
  readonly pending?: ReadonlyMap<string, number>;
}

export function loadScore(b: BrokerLoadView, limits: LoadLimits): number {
  return Math.max(
    finite(b.cpuUsage),
    finite(b.memoryUsage),
    limits.brokerMaxMsgRate > 0 ? finite(b.msgRate) / limits.brokerMaxMsgRate : 0,
    limits.brokerMaxBytesPerSec > 0 ? finite(b.bytesRate) / limits.brokerMaxBytesPerSec : 0,
  );
}

function finite(x: number): number {
  return Number.isFinite(x) && x > 0 ? x : 0;
}

/** Stable tie-breaker in [0, 2^32). */
export function spreadHash(bundleName: string, brokerId: string): number {
  return crc32(`${bundleName}|${brokerId}`) >>> 0;
}

export function chooseBroker(
  brokers: readonly BrokerLoadView[],
  bundleName: string,
  limits: LoadLimits,
  opts: PlacementOptions,
): string | undefined {
  let candidates = brokers.filter((b) => !b.draining);
  if (candidates.length === 0) return undefined;
  const score = new Map(candidates.map((b) => [b.id, loadScore(b, limits)]));
  const healthy = candidates.filter((b) => score.get(b.id)! < opts.overloadThreshold);
  if (healthy.length > 0) candidates = healthy;
  if (opts.avoid && candidates.length > 1) candidates = candidates.filter((b) => b.id !== opts.avoid);
  const best = Math.min(...candidates.map((b) => score.get(b.id)!));
  candidates = candidates.filter((b) => score.get(b.id)! <= best + opts.scoreTolerance);
  const count = (b: BrokerLoadView) => b.bundles + (opts.pending?.get(b.id) ?? 0);
  candidates.sort(
    (a, b) =>
      count(a) - count(b) || spreadHash(bundleName, a.id) - spreadHash(bundleName, b.id) || cmp(a.id, b.id),
  );
  return candidates[0].id;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
