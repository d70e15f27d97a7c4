/**
 * OwnershipService: the broker's side of cluster control. It keeps the broker's session and
 * registration (with load reports), mirrors ownership in a ClusterView, answers lookups
 * (lookup.ts), claims bundles assigned to this broker, runs graceful unloads (the broker's unload
 * handlers close the bundle's producers and consumers, then the bundle is released), and tells the
 * broker when ownership is lost (session expired, or another broker took over).
 *
 * Invariants:
 * - This broker serves a bundle only between a successful claim (owner key bound to its live
 *   session) and the moment it starts releasing it or learns it lost it. Even then, data safety
 *   comes from the managed ledger fencing the previous owner on load, not from this belief.
 * - A lost session ends every ownership at once; a new session starts with nothing owned.
 */
import type { BrokerRegistration } from '../gen/magnetar/cluster/v1/cluster_pb.ts';
import type { Logger } from '../log/index.ts';
import type { Metrics } from '../metrics/index.ts';
import type { MetadataStore, Session } from '../metadata/store.ts';
import { BundleActions } from './actions.ts';
import { BrokerRegistrar, type BrokerAddresses, EMPTY_LOAD, type LoadSource } from './broker-registry.ts';
import { type BundleRange, formatRange, rangeContains, topicHash } from './bundle-range.ts';
import type { ClusterConfig } from './config.ts';
import { ClusterErrors } from './errors.ts';
import {
  type LookupHost,
  type LookupOptions,
  type LookupResult,
  bundleOfTopic,
  lookupTopic,
} from './lookup.ts';
import { BoundariesCache, type InitialBoundaries } from './namespace-bundles.ts';
import { BundleStates, ownerBound } from './ownership-state.ts';
import { type BundleId, bundleName, OwnershipStore, type StoredBundle } from './ownership-store.ts';
import { OwnershipSignals } from './ownership-signals.ts';
import { parseTopicName } from './topic-name.ts';
import { ClusterView } from './view.ts';

export type UnloadReason = 'unload' | 'lost' | 'shutdown';

export interface BundleInfo {
  readonly tenant: string;
  readonly namespace: string;
  readonly range: BundleRange;
  /** tenant/namespace/0xLLLLLLLL_0xUUUUUUUU */
  readonly name: string;
  /** Does this full topic name (persistent://t/ns/x) belong to the bundle? */
  contains(topicFullName: string): boolean;
}

/** Close every producer, consumer and managed ledger of the bundle's topics (resolve when done). */
export type UnloadHandler = (bundle: BundleInfo, reason: UnloadReason) => Promise<void> | void;

export interface OwnershipToken {
  readonly bundle: BundleInfo;
  /** Ownership term: increases with every claim of this bundle by anyone. */
  readonly epoch: number;
}

export interface OwnershipServiceOptions {
  readonly store: MetadataStore;
  readonly cluster: string;
  readonly brokerId: string;
  readonly addresses: BrokerAddresses;
  readonly config: ClusterConfig;
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** The broker's traffic for load reports (CPU and memory are measured here). */
  readonly loadSource?: LoadSource;
  /** Lookups of namespaces this says do not exist fail with NAMESPACE_NOT_FOUND. */
  readonly namespaceExists?: (tenant: string, namespace: string) => Promise<boolean>;
  readonly version?: string;
  /**
   * Boundaries a namespace starts with when none are stored yet (e.g. its policies document's
   * `bundles`); default: `defaultNumberOfNamespaceBundles` equal ranges.
   */
  readonly initialBoundaries?: InitialBoundaries;
}

interface Owned {
  readonly id: BundleId;
  readonly epoch: number;
  readonly claimVersion: number;
  releasing: boolean;
}

type ServiceState = 'starting' | 'running' | 'reconnecting' | 'closing' | 'closed';

export function bundleInfo(id: BundleId): BundleInfo {
  const name = bundleName(id);
  return {
    tenant: id.tenant,
    namespace: id.namespace,
    range: id.range,
    name,
    contains: (topic: string) => {
      const t = parseTopicName(topic);
      return (
        t.tenant === id.tenant && t.namespace === id.namespace && rangeContains(id.range, topicHash(t.full))
      );
    },
  };
}

export class OwnershipService implements LookupHost {
  readonly brokerId: string;
  readonly log: Logger;
  readonly config: ClusterConfig;
  readonly actions: BundleActions;
  readonly boundaries: BoundariesCache;
  readonly namespaceExists?: (tenant: string, namespace: string) => Promise<boolean>;
  readonly os: OwnershipStore;
  readonly view: ClusterView;
  readonly #o: OwnershipServiceOptions;
  readonly #registrar: BrokerRegistrar;
  readonly #owned = new Map<string, Owned>();
  readonly #claims = new Map<string, Promise<boolean>>();
  readonly #handlers = new Set<UnloadHandler>();
  readonly #signals: OwnershipSignals;
  #session: Session | undefined;
  #state: ServiceState = 'starting';
  #reconnecting: Promise<void> | undefined;
  #draining = false;
  #lookups = 0;

  private constructor(o: OwnershipServiceOptions) {
    this.#o = o;
    this.brokerId = o.brokerId;
    this.log = o.log;
    this.config = o.config;
    this.namespaceExists = o.namespaceExists;
    this.os = new OwnershipStore(o.store, o.cluster);
    this.view = new ClusterView(o.store, o.cluster, {
      maxBundles: o.config.viewMaxBundles,
      maxBrokers: o.config.viewMaxBrokers,
      resyncDelayMs: o.config.viewResyncDelayMs,
      log: o.log,
    });
    this.actions = new BundleActions(this.os, this.view, o.brokerId, o.log);
    this.boundaries = new BoundariesCache(
      this.os,
      o.config.defaultNumberOfNamespaceBundles,
      o.config.boundariesCacheMaxNamespaces,
      o.initialBoundaries,
    );
    this.#signals = new OwnershipSignals(o.metrics);
    this.#registrar = new BrokerRegistrar({
      store: o.store,
      cluster: o.cluster,
      brokerId: o.brokerId,
      addresses: o.addresses,
      version: o.version ?? 'magnetar',
      loadReportIntervalMs: o.config.loadReportIntervalMs,
      loadReportMaxBundles: o.config.loadReportMaxBundles,
      memoryLimitBytes: o.config.memoryLimitBytes,
      registrationWaitMs: o.config.registrationWaitMs,
      log: o.log,
      loadSource: o.loadSource ?? (() => EMPTY_LOAD),
      ownedBundleCount: () => this.#owned.size,
    });
  }

  /** Open the session, register the broker and start mirroring ownership. */
  static async start(o: OwnershipServiceOptions): Promise<OwnershipService> {
    const svc = new OwnershipService(o);
    svc.view.onBundleChange((id, before, after) => svc.#onBundleChange(id, before, after));
    await svc.view.start();
    await svc.#openSession();
    svc.#state = 'running';
    svc.#claimAssignedMeanwhile();
    return svc;
  }

  get state(): ServiceState {
    return this.#state;
  }

  get session(): Session | undefined {
    return this.#session;
  }

  /** Register a handler run when a bundle must be given up (graceful unload, loss, shutdown). */
  onBundleUnload(handler: UnloadHandler): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** Resolve a LOOKUP / HTTP lookup for `topic` (see lookup.ts). */
  async lookupTopic(topic: string, opts: LookupOptions = {}): Promise<LookupResult> {
    if (this.#lookups >= this.config.lookupMaxConcurrent) {
      this.#signals.lookup('throttled');
      throw ClusterErrors.make('TOO_MANY_LOOKUPS', { limit: this.config.lookupMaxConcurrent });
    }
    this.#lookups++;
    const end = this.#signals.lookupTimer();
    try {
      const res = await lookupTopic(this, topic, opts);
      this.#signals.lookup(res.redirect ? 'redirect' : 'connect');
      return res;
    } catch (err) {
      this.#signals.lookup('failed');
      throw err;
    } finally {
      this.#lookups--;
      end();
    }
  }

  /**
   * For PRODUCER / SUBSCRIBE: succeed only when this broker owns the topic's bundle (claiming it
   * when it was assigned here); else NOT_OWNER (wire ServiceNotReady: the client looks up again).
   */
  async checkOwnership(topic: string): Promise<OwnershipToken> {
    const t = parseTopicName(topic);
    const { id } = await bundleOfTopic(this, t);
    const name = bundleName(id);
    let owned = this.#owned.get(name);
    if (!owned) {
      // A claim may be on its way (the lookup that sent the client here saw it land first).
      const inflight = this.#claims.get(name);
      if (inflight) await inflight;
      else {
        const s = await this.actions.current(id);
        if (s.record?.state === BundleStates.Assigning && s.record.destination === this.brokerId)
          await this.claim(id, s);
      }
      owned = this.#owned.get(name);
    }
    if (!owned || owned.releasing) {
      const s = this.view.bundle(id);
      const state = s === 'uncached' ? 'unknown' : (s.record?.state ?? 'free');
      throw ClusterErrors.make('NOT_OWNER', { broker: this.brokerId, bundle: name, state });
    }
    return { bundle: bundleInfo(owned.id), epoch: owned.epoch };
  }

  /** The bundle a topic belongs to (admin `/lookup/v2/topic/.../bundle`). */
  async getTopicBundle(topic: string): Promise<BundleInfo> {
    return bundleInfo((await bundleOfTopic(this, parseTopicName(topic))).id);
  }

  /** Bundles this broker owns and serves now. */
  ownedBundles(): BundleInfo[] {
    return [...this.#owned.values()].filter((o) => !o.releasing).map((o) => bundleInfo(o.id));
  }

  acceptingBundles(): boolean {
    return this.#state === 'running' && !this.#draining && this.#session?.alive === true;
  }

  selfRegistration(): BrokerRegistration {
    const reg = this.view.broker(this.brokerId) ?? this.#registrar.lastReport;
    if (!reg) throw ClusterErrors.make('SERVICE_CLOSED', { broker: this.brokerId, state: 'not registered' });
    return reg;
  }

  pendingAssignments(): ReadonlyMap<string, number> {
    return this.#signals.pendingByBroker();
  }

  notePendingAssignment(id: BundleId, brokerId: string): void {
    this.#signals.notePending(bundleName(id), brokerId);
  }

  waitForChange(id: BundleId, timeoutMs: number): Promise<boolean> {
    return this.#signals.waitForChange(bundleName(id), timeoutMs);
  }

  /** Claim a bundle assigned to this broker (deduplicated per bundle). */
  claim(id: BundleId, taken: StoredBundle): Promise<boolean> {
    const name = bundleName(id);
    if (this.#owned.has(name)) return Promise.resolve(true);
    const running = this.#claims.get(name);
    if (running) return running;
    const p = this.#doClaim(id, taken).finally(() => this.#claims.delete(name));
    this.#claims.set(name, p);
    return p;
  }

  async #doClaim(id: BundleId, taken: StoredBundle): Promise<boolean> {
    const session = this.#session;
    if (!session?.alive || (this.#state !== 'running' && this.#state !== 'starting')) return false;
    const res = await this.actions.claim(id, taken, session);
    if (!res.ok || !res.record) return false;
    if (this.#session !== session) return false; // the session changed under us: the claim is void
    this.#owned.set(bundleName(id), {
      id,
      epoch: res.record.epoch,
      claimVersion: res.version,
      releasing: false,
    });
    this.#signals.owned(this.#owned.size, 'claimed');
    this.log.info({ bundle: bundleName(id), epoch: res.record.epoch }, 'bundle owned');
    return true;
  }

  /**
   * Bundles assigned here while this broker could not take them (registered but still starting,
   * or reconnecting) were seen by #onBundleChange and left alone; no later change wakes it for
   * them, and nobody else may claim them. Claim them now that it can.
   */
  #claimAssignedMeanwhile(): void {
    for (const [id, s] of this.view.bundles()) {
      const r = s.record;
      if (r?.state !== BundleStates.Assigning || r.destination !== this.brokerId) continue;
      this.claim(id, s).catch((err: unknown) =>
        this.log.warn({ bundle: bundleName(id), err: (err as Error).message }, 'claim failed'),
      );
    }
  }

  /** React to every change of a bundle in the view. */
  #onBundleChange(id: BundleId, before: StoredBundle, after: StoredBundle): void {
    const name = bundleName(id);
    this.#signals.changed(name);
    const r = after.record;
    if (before.record && !r) this.boundaries.invalidate(id.tenant, id.namespace);
    if (r?.reason === 'split' && before.recordVersion !== after.recordVersion)
      this.boundaries.invalidate(id.tenant, id.namespace);
    if (r?.state === BundleStates.Assigning && r.destination === this.brokerId && this.acceptingBundles()) {
      this.claim(id, after).catch((err: unknown) =>
        this.log.warn({ bundle: name, err: (err as Error).message }, 'claim failed'),
      );
    }
    const owned = this.#owned.get(name);
    if (!owned || (after.recordVersion ?? Number.MAX_SAFE_INTEGER) < owned.claimVersion) return;
    const stillOurs =
      r && r.owner === this.brokerId && r.epoch === owned.epoch && ownerBound(r, after.ownerKey);
    if (stillOurs && r.state === BundleStates.Releasing && !owned.releasing) {
      this.#release(owned, 'unload').catch((err: unknown) =>
        this.log.error({ bundle: name, err: (err as Error).message }, 'release failed'),
      );
    } else if (!stillOurs && !owned.releasing) {
      const splitDone =
        !r && before.record?.state === BundleStates.Splitting && before.record.owner === this.brokerId;
      this.#owned.delete(name);
      this.#signals.owned(this.#owned.size, splitDone ? 'split' : 'lost');
      if (!splitDone) {
        this.log.warn({ bundle: name, state: r?.state ?? 'free', owner: r?.owner }, 'bundle ownership lost');
        void this.#runHandlers(owned.id, 'lost');
      }
    }
  }

  /** Graceful hand-over of a bundle we own and that is Releasing: close, then finish the release. */
  async #release(owned: Owned, reason: UnloadReason): Promise<void> {
    owned.releasing = true;
    const name = bundleName(owned.id);
    this.log.info({ bundle: name, reason }, 'unloading bundle');
    await this.#runHandlers(owned.id, reason);
    try {
      const s = await this.actions.fresh(owned.id);
      if (
        s.record?.state === BundleStates.Releasing &&
        s.record.owner === this.brokerId &&
        s.record.epoch === owned.epoch
      ) {
        const res = await this.actions.finishRelease(owned.id, s);
        if (!res.ok) this.log.warn({ bundle: name, why: res.why }, 'finish-release did not apply');
      }
    } finally {
      this.#owned.delete(name);
      this.#signals.owned(this.#owned.size, 'released');
    }
  }

  async #runHandlers(id: BundleId, reason: UnloadReason): Promise<void> {
    const info = bundleInfo(id);
    const all = Promise.allSettled([...this.#handlers].map(async (h) => h(info, reason)));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), this.config.unloadTimeoutMs);
    });
    const outcome = await Promise.race([all, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout')
      this.log.warn(
        { bundle: info.name, reason },
        'unload handlers did not finish in time; releasing anyway',
      );
    else
      for (const o of outcome)
        if (o.status === 'rejected')
          this.log.warn({ bundle: info.name, err: String(o.reason) }, 'unload handler failed');
  }

  async #openSession(): Promise<void> {
    const session = await this.#o.store.createSession(this.config.sessionTtlMs);
    this.#session = session;
    session.onLost((reason) => this.#onSessionLost(session, reason));
    await this.#registrar.register(session);
    this.log.info({ session: session.id, ttlMs: session.ttlMs }, 'broker registered');
  }

  #onSessionLost(session: Session, reason: Error): void {
    if (this.#session !== session || this.#state === 'closing' || this.#state === 'closed') return;
    this.log.error(
      { session: session.id, err: reason.message },
      'broker session lost: giving up every bundle',
    );
    this.#session = undefined;
    this.#state = 'reconnecting';
    this.#registrar.stop();
    const lost = [...this.#owned.values()];
    this.#owned.clear();
    this.#signals.owned(0, 'lost');
    for (const o of lost) void this.#runHandlers(o.id, 'lost');
    this.#reconnect();
  }

  /** One loop at a time opens a new session until one survives its registration. */
  #reconnect(): void {
    if (this.#reconnecting) return;
    this.#reconnecting = (async () => {
      while (this.#state === 'reconnecting') {
        try {
          await this.#openSession();
          if (this.#session?.alive && this.#state === 'reconnecting') {
            this.#state = 'running';
            this.#claimAssignedMeanwhile();
          }
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'cannot open a new session yet');
          await new Promise((r) => setTimeout(r, this.config.sessionRecreateDelayMs));
        }
      }
    })().finally(() => {
      this.#reconnecting = undefined;
    });
  }

  /**
   * Shut down: stop taking bundles, release every owned bundle gracefully (handlers close the
   * topics), deregister and end the session.
   */
  async close(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#draining = true;
    await this.#registrar.setDraining(true).catch(() => undefined);
    this.#state = 'closing';
    for (const owned of [...this.#owned.values()]) {
      if (owned.releasing) continue;
      try {
        const s = await this.actions.fresh(owned.id);
        const res = await this.actions.release(owned.id, s, '', 'shutdown', false);
        if (res.ok) await this.#release(owned, 'shutdown');
      } catch (err) {
        this.log.warn(
          { bundle: bundleName(owned.id), err: (err as Error).message },
          'release at shutdown failed',
        );
      }
    }
    this.#registrar.stop();
    await this.#session?.close().catch(() => undefined);
    await this.view.close();
    this.#signals.close();
    this.#state = 'closed';
  }

  /** Test and shutdown helper: the bundle names this broker holds, with their terms. */
  ownedEpochs(): Map<string, number> {
    return new Map([...this.#owned].map(([k, v]) => [k, v.epoch]));
  }

  /** Publish a fresh load report now. */
  reportLoad(): Promise<void> {
    return this.#registrar.reportNow();
  }

  formatBundle(id: BundleId): string {
    return `${id.tenant}/${id.namespace}/${formatRange(id.range)}`;
  }
}
