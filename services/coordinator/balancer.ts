/**
 * The leader's bundle duties (internals.md §5.4): free orphans and assign free bundles by load,
 * finish splits whose initiator died, shed load from overloaded brokers, split hot bundles.
 * Every change is a CAS transition (lib/cluster), so a deposed leader that still runs a pass
 * cannot corrupt anything: its transitions simply lose.
 */
import type { BundleActions } from '../../lib/cluster/actions.ts';
import { planShedding, planSplits, type ShedDecision } from '../../lib/cluster/balancing.ts';
import { requestUnload, splitBundle } from '../../lib/cluster/bundle-ops.ts';
import { brokerLoadViews, ownedBundleViews, splitCandidates } from '../../lib/cluster/cluster-load.ts';
import { BundleStates, isOrphan } from '../../lib/cluster/ownership-state.ts';
import { type BundleId, bundleName, type StoredBundle } from '../../lib/cluster/ownership-store.ts';
import { chooseBroker } from '../../lib/cluster/placement.ts';
import { idFromName } from '../../lib/cluster/view.ts';
import type { Logger } from '../../lib/log/index.ts';
import type { Counter, Metrics } from '../../lib/metrics/index.ts';
import type { CoordinatorConfig } from './config.ts';

export interface BalancerStats {
  assignRuns: number;
  assigned: number;
  orphansFreed: number;
  splitsFinished: number;
  shedRuns: number;
  shed: number;
  splitRuns: number;
  split: number;
  lastError?: string;
}

export class Balancer {
  readonly #actions: BundleActions;
  readonly #cfg: CoordinatorConfig;
  readonly #log: Logger;
  readonly #transitions?: Counter<string>;
  readonly stats: BalancerStats = {
    assignRuns: 0,
    assigned: 0,
    orphansFreed: 0,
    splitsFinished: 0,
    shedRuns: 0,
    shed: 0,
    splitRuns: 0,
    split: 0,
  };

  constructor(actions: BundleActions, cfg: CoordinatorConfig, log: Logger, metrics?: Metrics) {
    this.#actions = actions;
    this.#cfg = cfg;
    this.#log = log;
    this.#transitions = metrics?.counter(
      'magnetar_coordinator_bundle_actions_total',
      'Bundle transitions the leader issued',
      ['action'],
    );
  }

  #count(action: string, n = 1): void {
    this.#transitions?.inc({ action }, n);
  }

  /**
   * One pass over the view: orphans freed, free bundles assigned, stale splits finished; up to
   * `assignConcurrency` bundles at once (a dead broker's bundles come back in parallel).
   */
  async assignOnce(nowMs = Date.now()): Promise<number> {
    this.stats.assignRuns++;
    const view = this.#actions.view;
    const brokers = brokerLoadViews(view);
    const pending = new Map<string, number>();
    const work: [BundleId, StoredBundle][] = [];
    for (const [id, s] of view.bundles()) {
      if (work.length >= this.#cfg.maxAssignmentsPerRun) break;
      if (this.#needsWork(s, nowMs)) work.push([id, s]);
    }
    let next = 0;
    const worker = async () => {
      while (next < work.length) {
        const [id, s] = work[next++];
        await this.#settleOne(id, s, nowMs, brokers, pending);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#cfg.assignConcurrency, work.length) }, worker));
    return work.length;
  }

  #needsWork(s: StoredBundle, nowMs: number): boolean {
    const r = s.record;
    if (!r) return false;
    if (isOrphan({ record: r, ownerKey: s.ownerKey, registered: this.#actions.view.isRegistered, nowMs }))
      return true;
    if (r.state === BundleStates.Free) return true;
    return r.state === BundleStates.Splitting && nowMs - r.changedAtMs >= this.#cfg.splittingStaleMs;
  }

  async #settleOne(
    id: BundleId,
    cached: StoredBundle,
    nowMs: number,
    brokers: ReturnType<typeof brokerLoadViews>,
    pending: Map<string, number>,
  ): Promise<void> {
    let s = cached;
    const r = s.record!;
    if (isOrphan({ record: r, ownerKey: s.ownerKey, registered: this.#actions.view.isRegistered, nowMs })) {
      const res = await this.#actions.free(id, s, `orphan of ${r.owner || r.destination}`);
      if (!res.ok) return;
      this.stats.orphansFreed++;
      this.#count('free-orphan');
      s = {
        ...s,
        record: res.record,
        recordVersion: res.version,
        ownerKey: undefined,
        ownerVersion: undefined,
      };
    }
    if (s.record?.state === BundleStates.Free) {
      if (await this.#assign(id, s, brokers, pending)) this.stats.assigned++;
    } else if (s.record?.state === BundleStates.Splitting) {
      const res = await this.#actions.finishSplit(id);
      if (res.ok) {
        this.stats.splitsFinished++;
        this.#count('finish-split');
      }
    }
  }

  async #assign(
    id: BundleId,
    s: StoredBundle,
    brokers: ReturnType<typeof brokerLoadViews>,
    pending: Map<string, number>,
  ): Promise<boolean> {
    const name = bundleName(id);
    const dst = chooseBroker(brokers, name, this.#cfg, {
      overloadThreshold: this.#cfg.overloadThreshold,
      scoreTolerance: this.#cfg.placementScoreTolerance,
      avoid: s.record?.previousOwner || undefined,
      pending,
    });
    if (!dst) return false;
    // Reserve before the await so parallel assignments of this pass see each other.
    pending.set(dst, (pending.get(dst) ?? 0) + 1);
    const res = await this.#actions.assign(id, s, dst, 'coordinator');
    if (!res.ok) {
      pending.set(dst, (pending.get(dst) ?? 1) - 1);
      return false;
    }
    this.#count('assign');
    this.#log.info({ bundle: name, to: dst, previousOwner: s.record?.previousOwner }, 'bundle assigned');
    return true;
  }

  /** Evaluate shedding and ask owners to release the chosen bundles toward their destinations. */
  async shedOnce(nowMs = Date.now()): Promise<ShedDecision[]> {
    this.stats.shedRuns++;
    const view = this.#actions.view;
    const decisions = planShedding(
      brokerLoadViews(view),
      ownedBundleViews(view),
      this.#cfg,
      {
        overloadThreshold: this.#cfg.overloadThreshold,
        overloadMargin: this.#cfg.overloadMargin,
        scoreTolerance: this.#cfg.placementScoreTolerance,
        graceMs: this.#cfg.sheddingGraceMs,
        maxBundleCountSpread: this.#cfg.maxBundleCountSpread,
        maxUnloadsPerRun: this.#cfg.maxUnloadsPerRun,
      },
      nowMs,
    );
    const done: ShedDecision[] = [];
    for (const d of decisions) {
      const id = idFromName(d.bundle);
      if (!id) continue;
      try {
        const outcome = await requestUnload(this.#actions, id, {
          destination: d.to,
          reason: `shed-${d.reason}`,
          move: true,
        });
        if (outcome !== 'released') continue;
        done.push(d);
        this.stats.shed++;
        this.#count('shed');
        this.#log.info(d, 'bundle shed');
      } catch (err) {
        this.#log.warn({ ...d, err: (err as Error).message }, 'shedding a bundle failed');
      }
    }
    return done;
  }

  /** Split bundles over the thresholds (range_equally_divide); children stay with the owner. */
  async splitOnce(): Promise<string[]> {
    this.stats.splitRuns++;
    const view = this.#actions.view;
    const { candidates } = splitCandidates(view);
    const perNamespace = new Map<string, number>();
    for (const ns of new Set(candidates.map((c) => c.namespace))) {
      const [tenant, namespace] = ns.split('/');
      const b = await this.#actions.os.readBoundaries(tenant, namespace);
      if (b) perNamespace.set(ns, b.value.length - 1);
    }
    const chosen = planSplits(candidates, perNamespace, {
      maxTopics: this.#cfg.splitMaxTopics,
      maxSessions: this.#cfg.splitMaxSessions,
      maxMsgRate: this.#cfg.splitMaxMsgRate,
      maxBytesPerSec: this.#cfg.splitMaxBytesPerSec,
      maxBundlesPerNamespace: this.#cfg.maxBundlesPerNamespace,
      maxSplitsPerRun: this.#cfg.maxSplitsPerRun,
    });
    const done: string[] = [];
    for (const name of chosen) {
      const id = idFromName(name);
      if (!id) continue;
      try {
        await splitBundle(
          this.#actions,
          id,
          { algorithm: 'range_equally_divide' },
          this.#cfg.maxBundlesPerNamespace,
        );
        done.push(name);
        this.stats.split++;
        this.#count('split');
        this.#log.info({ bundle: name }, 'bundle split');
      } catch (err) {
        this.#log.warn({ bundle: name, err: (err as Error).message }, 'bundle split failed');
      }
    }
    return done;
  }
}
