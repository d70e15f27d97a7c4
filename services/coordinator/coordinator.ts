/**
 * The coordinator: a leader-elected control plane (DESIGN.md). Every replica mirrors ownership
 * and broker registrations (so a standby is warm); the leader alone runs the duties: assignment
 * of free and orphaned bundles (periodic and on every change), load shedding, bundle splits and,
 * when wired with a ledger layer, bookie auditing and re-replication (autorecovery/).
 * HTTP: /health, /ready, /metrics, /status, /status/autorecovery (lib/http/ops-server.ts).
 *
 *   const c = await startCoordinator(loadConfig('coordinator', coordinatorConfigSpec, {...}), { store });
 */
import { hostname } from 'node:os';
import { create } from '@bufbuild/protobuf';
import { BundleActions } from '../../lib/cluster/actions.ts';
import { bundleCounts } from '../../lib/cluster/cluster-load.ts';
import { isOrphan } from '../../lib/cluster/ownership-state.ts';
import { OwnershipStore } from '../../lib/cluster/ownership-store.ts';
import { ClusterView } from '../../lib/cluster/view.ts';
import { CoordinatorCandidateSchema } from '../../lib/gen/magnetar/cluster/v1/cluster_pb.ts';
import { type OpsServer, startOpsServer } from '../../lib/http/ops-server.ts';
import { createLogger, type Logger } from '../../lib/log/index.ts';
import { openMetadataStore } from '../../lib/metadata/index.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { createMetrics, type Metrics } from '../../lib/metrics/index.ts';
import { Balancer } from './balancer.ts';
import type { CoordinatorConfig } from './config.ts';
import { CoordinatorErrors } from './errors.ts';
import { Leadership } from './leadership.ts';
import { PeriodicTask } from './periodic.ts';

/** An optional leader duty plugged in by the process (autorecovery). */
export interface LeaderDuty {
  readonly name: string;
  /** Called when this replica becomes leader. */
  start(): void;
  /** Called when it stops leading; must stop issuing work promptly. */
  stop(): Promise<void>;
  status(): unknown;
  close(): Promise<void>;
}

export interface CoordinatorDeps {
  /** The metadata store (standalone shares one); opened from config.metadataUrl when absent. */
  readonly store?: MetadataStore;
  readonly log?: Logger;
  readonly metrics?: Metrics;
  /** Extra leader duties, e.g. autorecovery (services/coordinator/autorecovery). */
  readonly duties?: readonly ((ctx: DutyContext) => LeaderDuty)[];
}

export interface DutyContext {
  readonly store: MetadataStore;
  readonly config: CoordinatorConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly coordinatorId: string;
  readonly isLeader: () => boolean;
}

export interface Coordinator {
  readonly id: string;
  readonly httpPort: number;
  readonly isLeader: boolean;
  readonly balancer: Balancer;
  readonly view: ClusterView;
  status(): Record<string, unknown>;
  dutyStatus(name: string): unknown;
  close(): Promise<void>;
}

export async function startCoordinator(
  config: CoordinatorConfig,
  deps: CoordinatorDeps = {},
): Promise<Coordinator> {
  const provisionalId = config.coordinatorId || `${hostname()}:${config.httpPort}`;
  const log = deps.log ?? createLogger({ service: 'coordinator', node: provisionalId });
  const metrics = deps.metrics ?? createMetrics('coordinator', provisionalId);
  const ownsStore = !deps.store;
  const store = deps.store ?? (await openMetadataStore(config.metadataUrl, { logger: log }));
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    const view = new ClusterView(store, config.cluster, {
      maxBundles: config.viewMaxBundles,
      maxBrokers: config.viewMaxBrokers,
      resyncDelayMs: config.viewResyncDelayMs,
      log,
    });
    await view.start();
    cleanup.push(() => view.close());
    let leadership: Leadership | undefined;
    const isLeader = () => leadership?.isLeader === true;
    const extra: LeaderDuty[] = [];
    let ops: OpsServer | undefined;
    const routes = {
      '/status': () => coordinator.status(),
      '/status/autorecovery': () => coordinator.dutyStatus('autorecovery') ?? { enabled: false },
    };
    ops = await startOpsServer({
      host: config.httpHost,
      port: config.httpPort,
      metrics,
      readiness: () => (view.synced ? undefined : 'ownership view not synced with the metadata store'),
      routes,
    });
    cleanup.push(() => ops!.close());
    const id = config.coordinatorId || `${hostname()}:${ops.port}`;
    const actions = new BundleActions(new OwnershipStore(store, config.cluster), view, id, log);
    const balancer = new Balancer(actions, config, log, metrics);
    const leaderGauge = metrics.gauge('magnetar_coordinator_is_leader', '1 while this replica leads');
    const tasks = [
      new PeriodicTask('assign', config.assignIntervalMs, () => balancer.assignOnce(), log),
      ...(config.sheddingEnabled
        ? [new PeriodicTask('shed', config.sheddingIntervalMs, () => balancer.shedOnce(), log)]
        : []),
      ...(config.splitEnabled
        ? [new PeriodicTask('split', config.splitIntervalMs, () => balancer.splitOnce(), log)]
        : []),
    ];
    const ctx: DutyContext = { store, config, log, metrics, coordinatorId: id, isLeader };
    for (const make of deps.duties ?? []) extra.push(make(ctx));
    // Every ownership or broker change wakes the assignment pass (coalesced by the task).
    view.onBundleChange(() => isLeader() && tasks[0].poke());
    view.onBrokerChange(() => isLeader() && tasks[0].poke());
    const advertised =
      config.advertisedHttpUrl ||
      `http://${config.httpHost === '0.0.0.0' ? '127.0.0.1' : config.httpHost}:${ops.port}`;
    leadership = new Leadership({
      store,
      cluster: config.cluster,
      candidate: create(CoordinatorCandidateSchema, {
        coordinatorId: id,
        httpUrl: advertised,
        startedAtMs: BigInt(Date.now()),
      }),
      sessionTtlMs: config.sessionTtlMs,
      retryDelayMs: config.sessionRecreateDelayMs,
      log,
      onElected: () => {
        leaderGauge.set(1);
        for (const t of tasks) t.start();
        for (const d of extra) d.start();
      },
      onDeposed: () => {
        leaderGauge.set(0);
        for (const t of tasks) void t.stop();
        for (const d of extra) void d.stop();
      },
    });
    await leadership.start();
    const coordinator: Coordinator = {
      id,
      httpPort: ops.port,
      get isLeader() {
        return isLeader();
      },
      balancer,
      view,
      status: () => statusOf(id, view, leadership!, balancer, extra),
      dutyStatus: (name) => extra.find((d) => d.name === name)?.status(),
      async close() {
        await leadership!.close();
        for (const t of tasks) await t.stop();
        for (const d of extra) await d.close();
        for (const c of cleanup.reverse()) await c().catch(() => undefined);
        if (ownsStore) await store.close();
      },
    };
    log.info({ coordinator: id, httpPort: ops.port, cluster: config.cluster }, 'coordinator started');
    return coordinator;
  } catch (err) {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    if (ownsStore) await store.close().catch(() => undefined);
    throw CoordinatorErrors.make('STARTUP_FAILED', { why: (err as Error).message }, err);
  }
}

function statusOf(
  id: string,
  view: ClusterView,
  leadership: Leadership,
  balancer: Balancer,
  extra: readonly LeaderDuty[],
) {
  const byState: Record<string, number> = { free: 0, assigning: 0, owned: 0, releasing: 0, splitting: 0 };
  let orphans = 0;
  const now = Date.now();
  for (const [, s] of view.bundles()) {
    if (!s.record) continue;
    byState[s.record.state]++;
    if (isOrphan({ record: s.record, ownerKey: s.ownerKey, registered: view.isRegistered, nowMs: now }))
      orphans++;
  }
  const counts = bundleCounts(view);
  const leader = leadership.currentLeader;
  return {
    coordinatorId: id,
    leader: leadership.isLeader,
    leaderId: leader?.coordinatorId ?? null,
    leaderHttpUrl: leader?.httpUrl ?? null,
    viewSynced: view.synced,
    brokers: view.brokers().map((b) => ({
      brokerId: b.brokerId,
      serviceUrl: b.serviceUrl,
      httpUrl: b.httpUrl,
      draining: b.draining,
      bundles: counts.get(b.brokerId) ?? 0,
      cpuUsage: b.load?.cpuUsage ?? 0,
      memoryUsage: b.load?.memoryUsage ?? 0,
      msgRateIn: b.load?.msgRateIn ?? 0,
      msgRateOut: b.load?.msgRateOut ?? 0,
      topics: b.load?.topics ?? 0,
      reportedAtMs: Number(b.load?.reportedAtMs ?? 0n),
    })),
    bundles: {
      total: Object.values(byState).reduce((a, b) => a + b, 0),
      ...byState,
      orphans,
    },
    balancer: balancer.stats,
    duties: Object.fromEntries(extra.map((d) => [d.name, d.status()])),
  };
}
