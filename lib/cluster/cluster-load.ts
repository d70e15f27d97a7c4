/**
 * Inputs of placement, shedding and split decisions, derived from the cluster view: each broker's
 * latest load report plus the bundle counts the ownership records show (authoritative, unlike the
 * counts in reports), and each owned bundle with its owner's per-bundle load.
 */
import type { BrokerRegistration } from '../gen/magnetar/cluster/v1/cluster_pb.ts';
import type { BundleLoadView, OwnedBundleView, SplitCandidate } from './balancing.ts';
import { canSplit, formatRange } from './bundle-range.ts';
import { BundleStates, ownerBound } from './ownership-state.ts';
import { bundleName } from './ownership-store.ts';
import type { BrokerLoadView } from './placement.ts';
import type { ClusterView } from './view.ts';

/** Bundles held or being taken per broker. */
export function bundleCounts(view: ClusterView): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (id: string) => counts.set(id, (counts.get(id) ?? 0) + 1);
  for (const [, s] of view.bundles()) {
    const r = s.record;
    if (!r) continue;
    if (r.state === BundleStates.Assigning) add(r.destination);
    else if (r.state !== BundleStates.Free && ownerBound(r, s.ownerKey)) add(r.owner);
  }
  return counts;
}

export function brokerLoadView(reg: BrokerRegistration, bundles: number): BrokerLoadView {
  const l = reg.load;
  return {
    id: reg.brokerId,
    draining: reg.draining,
    cpuUsage: l?.cpuUsage ?? 0,
    memoryUsage: l?.memoryUsage ?? 0,
    msgRate: (l?.msgRateIn ?? 0) + (l?.msgRateOut ?? 0),
    bytesRate: (l?.bytesInPerSec ?? 0) + (l?.bytesOutPerSec ?? 0),
    bundles,
  };
}

export function brokerLoadViews(view: ClusterView): BrokerLoadView[] {
  const counts = bundleCounts(view);
  return view.brokers().map((reg) => brokerLoadView(reg, counts.get(reg.brokerId) ?? 0));
}

/** Per-bundle loads from every broker's report, keyed `tenant/ns/range`. */
export function reportedBundleLoads(view: ClusterView): Map<string, BundleLoadView & { reporter: string }> {
  const out = new Map<string, BundleLoadView & { reporter: string }>();
  for (const reg of view.brokers()) {
    for (const b of reg.load?.bundleLoads ?? []) {
      out.set(`${b.namespace}/${b.range}`, {
        reporter: reg.brokerId,
        topics: b.topics,
        sessions: b.producers + b.consumers,
        msgRate: b.msgRateIn + b.msgRateOut,
        bytesRate: b.bytesInPerSec + b.bytesOutPerSec,
      });
    }
  }
  return out;
}

/** Bundles owned by a live broker (bound owner key), with the owner's reported load. */
export function ownedBundleViews(view: ClusterView): OwnedBundleView[] {
  const loads = reportedBundleLoads(view);
  const out: OwnedBundleView[] = [];
  for (const [id, s] of view.bundles()) {
    const r = s.record;
    if (r?.state !== BundleStates.Owned || !ownerBound(r, s.ownerKey) || !view.isRegistered(r.owner))
      continue;
    const name = bundleName(id);
    const load = loads.get(name);
    out.push({
      name,
      owner: r.owner,
      movedAtMs: r.movedAtMs,
      load: load?.reporter === r.owner ? load : undefined,
    });
  }
  return out;
}

export function splitCandidates(view: ClusterView): {
  candidates: SplitCandidate[];
  perNamespace: Map<string, number>;
} {
  const loads = reportedBundleLoads(view);
  const perNamespace = new Map<string, number>();
  const candidates: SplitCandidate[] = [];
  for (const [id, s] of view.bundles()) {
    const ns = `${id.tenant}/${id.namespace}`;
    if (s.record) perNamespace.set(ns, (perNamespace.get(ns) ?? 0) + 1);
    const r = s.record;
    if (r?.state !== BundleStates.Owned || !ownerBound(r, s.ownerKey)) continue;
    const load = loads.get(`${ns}/${formatRange(id.range)}`);
    if (!load || load.reporter !== r.owner) continue;
    candidates.push({ name: bundleName(id), namespace: ns, splittable: canSplit(id.range), load });
  }
  return { candidates, perNamespace };
}
