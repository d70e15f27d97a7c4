/**
 * Load shedding and bundle split decisions, pure (internals.md §5.1, §5.4). The coordinator leader
 * runs them periodically over the brokers' load reports and the ownership view.
 *
 * Shedding: (1) overload: a broker whose load score is at or above `overloadThreshold` and owns at
 * least two bundles gives away its busiest movable bundles until its estimated score is below the
 * threshold minus a margin; (2) count spread (off when 0): while the most and least loaded (by
 * bundle count) healthy brokers differ by more than `maxBundleCountSpread`, one bundle moves from
 * the first to the second. A bundle moved less than `graceMs` ago stays (no bouncing). At most
 * `maxUnloadsPerRun` moves per run.
 * Split: a bundle with at least two topics and more than the topic, session, message-rate or
 * byte-rate threshold is cut in two (range_equally_divide), while its namespace has fewer than
 * `maxBundlesPerNamespace` bundles; at most `maxSplitsPerRun` per run.
 */
import { type BrokerLoadView, chooseBroker, type LoadLimits, loadScore } from './placement.ts';

export interface BundleLoadView {
  readonly topics: number;
  readonly sessions: number;
  readonly msgRate: number;
  readonly bytesRate: number;
}

export interface OwnedBundleView {
  /** tenant/namespace/range */
  readonly name: string;
  readonly owner: string;
  readonly movedAtMs: number;
  /** From the owner's latest load report; undefined when it did not report this bundle. */
  readonly load?: BundleLoadView;
}

export interface ShedConfig {
  readonly overloadThreshold: number;
  /** Estimated score a shedding broker is brought under: threshold − margin. */
  readonly overloadMargin: number;
  readonly scoreTolerance: number;
  readonly graceMs: number;
  /** 0 disables count balancing. */
  readonly maxBundleCountSpread: number;
  readonly maxUnloadsPerRun: number;
}

export interface ShedDecision {
  readonly bundle: string;
  readonly from: string;
  readonly to: string;
  readonly reason: 'overload' | 'count-spread';
}

interface SimBroker {
  view: BrokerLoadView;
  bundles: OwnedBundleView[];
}

export function planShedding(
  brokers: readonly BrokerLoadView[],
  bundles: readonly OwnedBundleView[],
  limits: LoadLimits,
  cfg: ShedConfig,
  nowMs: number,
): ShedDecision[] {
  const sim = new Map<string, SimBroker>(brokers.map((b) => [b.id, { view: { ...b }, bundles: [] }]));
  for (const bundle of bundles) sim.get(bundle.owner)?.bundles.push(bundle);
  const out: ShedDecision[] = [];
  const movable = (b: OwnedBundleView) =>
    nowMs - b.movedAtMs >= cfg.graceMs && !out.some((d) => d.bundle === b.name);
  const views = () => [...sim.values()].map((s) => s.view);
  const move = (from: SimBroker, bundle: OwnedBundleView, to: string, reason: ShedDecision['reason']) => {
    const dest = sim.get(to)!;
    const share = bundleShare(from.view, bundle);
    const moved = {
      cpu: from.view.cpuUsage * share,
      msg: from.view.msgRate * share,
      bytes: from.view.bytesRate * share,
    };
    from.view = shifted(from.view, -1, moved);
    dest.view = shifted(dest.view, +1, moved);
    from.bundles = from.bundles.filter((b) => b !== bundle);
    dest.bundles.push(bundle);
    out.push({ bundle: bundle.name, from: from.view.id, to, reason });
  };

  const overloaded = [...sim.values()]
    .filter((s) => loadScore(s.view, limits) >= cfg.overloadThreshold)
    .sort((a, b) => loadScore(b.view, limits) - loadScore(a.view, limits));
  for (const s of overloaded) {
    const candidates = s.bundles.filter(movable).sort((a, b) => busier(b, a));
    for (const bundle of candidates) {
      if (out.length >= cfg.maxUnloadsPerRun || s.bundles.length < 2) break;
      if (loadScore(s.view, limits) < cfg.overloadThreshold - cfg.overloadMargin) break;
      const others = views().filter(
        (v) => v.id !== s.view.id && loadScore(v, limits) < cfg.overloadThreshold,
      );
      const to = chooseBroker(others, bundle.name, limits, {
        overloadThreshold: cfg.overloadThreshold,
        scoreTolerance: cfg.scoreTolerance,
      });
      if (!to) break;
      move(s, bundle, to, 'overload');
    }
  }

  if (cfg.maxBundleCountSpread > 0) {
    while (out.length < cfg.maxUnloadsPerRun) {
      const healthy = [...sim.values()].filter(
        (s) => !s.view.draining && loadScore(s.view, limits) < cfg.overloadThreshold,
      );
      if (healthy.length < 2) break;
      healthy.sort((a, b) => a.bundles.length - b.bundles.length || (a.view.id < b.view.id ? -1 : 1));
      const least = healthy[0];
      const most = healthy[healthy.length - 1];
      if (most.bundles.length - least.bundles.length <= cfg.maxBundleCountSpread) break;
      // The quietest movable bundle: the least disruption for the same count effect.
      const bundle = most.bundles.filter(movable).sort((a, b) => busier(a, b))[0];
      if (!bundle) break;
      move(most, bundle, least.view.id, 'count-spread');
    }
  }
  return out;
}

/** Positive when a is busier than b. */
function busier(a: OwnedBundleView, b: OwnedBundleView): number {
  const la = a.load;
  const lb = b.load;
  return (
    (la?.msgRate ?? 0) - (lb?.msgRate ?? 0) ||
    (la?.bytesRate ?? 0) - (lb?.bytesRate ?? 0) ||
    (la?.topics ?? 0) - (lb?.topics ?? 0) ||
    (a.name < b.name ? 1 : -1)
  );
}

/** Fraction of the broker's traffic the bundle carries (1/bundles when nothing is reported). */
function bundleShare(b: BrokerLoadView, bundle: OwnedBundleView): number {
  if (b.msgRate > 0 && bundle.load) return Math.min(1, bundle.load.msgRate / b.msgRate);
  return b.bundles > 0 ? 1 / b.bundles : 0;
}

/** The broker's estimated load after gaining (+1) or losing (-1) a bundle carrying `moved`. */
function shifted(
  b: BrokerLoadView,
  sign: 1 | -1,
  moved: { cpu: number; msg: number; bytes: number },
): BrokerLoadView {
  return {
    ...b,
    cpuUsage: Math.max(0, b.cpuUsage + sign * moved.cpu),
    msgRate: Math.max(0, b.msgRate + sign * moved.msg),
    bytesRate: Math.max(0, b.bytesRate + sign * moved.bytes),
    bundles: Math.max(0, b.bundles + sign),
  };
}

export interface SplitConfig {
  readonly maxTopics: number;
  readonly maxSessions: number;
  readonly maxMsgRate: number;
  readonly maxBytesPerSec: number;
  readonly maxBundlesPerNamespace: number;
  readonly maxSplitsPerRun: number;
}

export interface SplitCandidate {
  readonly name: string;
  readonly namespace: string;
  readonly splittable: boolean;
  readonly load: BundleLoadView;
}

export function planSplits(
  bundles: readonly SplitCandidate[],
  bundlesPerNamespace: ReadonlyMap<string, number>,
  cfg: SplitConfig,
): string[] {
  const counts = new Map(bundlesPerNamespace);
  const out: string[] = [];
  const over = (l: BundleLoadView) =>
    l.topics > cfg.maxTopics ||
    l.sessions > cfg.maxSessions ||
    l.msgRate > cfg.maxMsgRate ||
    l.bytesRate > cfg.maxBytesPerSec;
  const ranked = bundles.filter((b) => b.splittable && b.load.topics >= 2 && over(b.load));
  ranked.sort(
    (a, b) => b.load.msgRate - a.load.msgRate || b.load.topics - a.load.topics || (a.name < b.name ? -1 : 1),
  );
  for (const b of ranked) {
    if (out.length >= cfg.maxSplitsPerRun) break;
    const n = counts.get(b.namespace) ?? 1;
    if (n >= cfg.maxBundlesPerNamespace) continue;
    counts.set(b.namespace, n + 1);
    out.push(b.name);
  }
  return out;
}
