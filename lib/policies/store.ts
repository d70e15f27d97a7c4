/**
 * PolicyStore: typed access to clusters, tenants, namespaces, partitioned-topic metadata and
 * topic-level policies in the metadata store (configuration-store keys under /global, see
 * lib/metadata/keys.ts). Reads on the hot path (namespace policies, partition counts, topic
 * policies) come from a watch-fed cache with read-your-writes; every write is a compare-and-swap,
 * and a change that touches several keys is one transaction, so nothing partial is ever written.
 *
 * Referential integrity without locks: creating a child "touches" its parent (rewrites the
 * parent's value at its read version), so a concurrent delete of the parent, which is a CAS on the
 * parent's version, fails instead of leaving an orphan.
 */
import { MetadataErrors } from '../metadata/errors.ts';
import * as keys from '../metadata/keys.ts';
import type { Entry, MetadataStore, TxnOp } from '../metadata/store.ts';
import { WatchedCache } from './cache.ts';
import {
  decodeCluster,
  decodePartitioned,
  decodePolicies,
  decodeTenant,
  decodeTopicPolicies,
  encodeJson,
} from './codec.ts';
import type { PolicyDefaults } from './defaults.ts';
import { policyErrors } from './errors.ts';
import type { NamespaceName, TopicName } from './names.ts';
import { type EffectivePolicies, resolvePolicies } from './resolve.ts';
import type {
  ClusterData,
  PartitionedTopicMetadata,
  Policies,
  TenantInfo,
  TopicPolicies,
  Versioned,
} from './types.ts';

export interface PolicyStoreOptions {
  /** This broker's cluster (rate maps are keyed by it). */
  cluster: string;
  defaults: PolicyDefaults;
  /** Keys the cache holds at most. */
  maxCachedEntries?: number;
  /** Attempts of a read-modify-write before answering CONCURRENT_MODIFICATION. */
  maxCasAttempts?: number;
  rewatchDelayMs?: number;
  onWatchError?: (err: Error) => void;
}

const GLOBAL_PREFIX = '/global/';
const TOPIC_POLICIES_KEY =
  /^\/global\/topic-policies\/([^/]+)\/([^/]+)\/(persistent|non-persistent)\/([^/]+)$/;

/** What changed in the configuration store (watch notifications, see PolicyStore.onChange). */
export type PolicyChange =
  | { readonly kind: 'namespace'; readonly tenant: string; readonly namespace: string }
  | { readonly kind: 'topic-policies'; readonly topic: string }
  | { readonly kind: 'partitioned'; readonly topic: string }
  | { readonly kind: 'tenant'; readonly tenant: string }
  | { readonly kind: 'cluster'; readonly cluster: string };

export function classifyChange(key: string): PolicyChange | undefined {
  const ns = keys.parseNamespaceKey(key);
  if (ns) return { kind: 'namespace', ...ns };
  const pt = keys.parsePartitionedTopicKey(key);
  if (pt)
    return { kind: 'partitioned', topic: `${pt.domain}://${pt.tenant}/${pt.namespace}/${pt.localName}` };
  const tp = TOPIC_POLICIES_KEY.exec(key);
  if (tp) {
    const local = keys.decodeComponent(tp[4]);
    if (local !== undefined)
      return { kind: 'topic-policies', topic: `${tp[3]}://${tp[1]}/${tp[2]}/${local}` };
  }
  const t = keys.parseTenantKey(key);
  if (t) return { kind: 'tenant', ...t };
  const c = keys.parseClusterInfoKey(key);
  if (c) return { kind: 'cluster', ...c };
  return undefined;
}

export function isCasFailure(err: unknown): boolean {
  return (
    MetadataErrors.is(err, 'BAD_VERSION') ||
    MetadataErrors.is(err, 'KEY_EXISTS') ||
    MetadataErrors.is(err, 'NO_SUCH_KEY')
  );
}

export class PolicyStore {
  readonly metadata: MetadataStore;
  readonly cluster: string;
  readonly defaults: PolicyDefaults;
  readonly maxCasAttempts: number;
  private readonly cache: WatchedCache;
  private readonly listeners = new Set<(change: PolicyChange) => void>();

  constructor(metadata: MetadataStore, opts: PolicyStoreOptions) {
    this.metadata = metadata;
    this.cluster = opts.cluster;
    this.defaults = opts.defaults;
    this.maxCasAttempts = opts.maxCasAttempts ?? 10;
    this.cache = new WatchedCache(metadata, GLOBAL_PREFIX, {
      maxEntries: opts.maxCachedEntries ?? 100_000,
      rewatchDelayMs: opts.rewatchDelayMs ?? 1000,
      onError: opts.onWatchError,
      onChange: (key) => this.notify(key),
    });
  }

  /**
   * Be told of every change to namespaces, topic policies, partitioned metadata, tenants and
   * clusters (from any writer, through the watch; after the cache holds the new value). The broker
   * re-resolves `effectivePolicies` of its loaded topics of that namespace / topic. Returns an
   * unsubscribe function.
   */
  onChange(listener: (change: PolicyChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(key: string): void {
    if (this.listeners.size === 0) return;
    const change = classifyChange(key);
    if (!change) return;
    for (const l of this.listeners) {
      try {
        l(change);
      } catch {
        /* a listener's failure is its own; the others still hear of the change */
      }
    }
  }

  async start(): Promise<void> {
    await this.cache.start();
  }

  async close(): Promise<void> {
    await this.cache.close();
  }

  // ---- generic helpers ---------------------------------------------------------------------

  /** Run a read-modify-write `attempt` again while it loses a CAS race, a bounded number of times. */
  async retryCas<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (err) {
        if (!isCasFailure(err)) throw err;
        if (i >= this.maxCasAttempts) throw policyErrors.make('CONCURRENT_MODIFICATION', { what }, err);
        // Jittered, bounded backoff so racing writers spread out instead of colliding again.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** i)));
      }
    }
  }

  /** Apply a transaction and record its puts/deletes in the cache (read-your-writes). */
  async commit(ops: TxnOp[]): Promise<void> {
    const versions = await this.metadata.txn(ops);
    ops.forEach((op, i) => {
      if (op.op === 'put') {
        const version = versions[i] as number;
        const entry: Entry = { key: op.key, value: op.value, version, createVersion: version };
        this.cache.noteWrite(op.key, entry, version);
      } else if (op.op === 'delete') {
        this.cache.noteWrite(op.key, undefined, (op.expectedVersion ?? 0) + 1);
        if (op.expectedVersion === undefined) this.cache.invalidate(op.key);
      }
    });
  }

  /** The op that rewrites `entry` unchanged at its version (a parent "touch", see above). */
  touch(entry: Entry): TxnOp {
    return { op: 'put', key: entry.key, value: entry.value, expectedVersion: entry.version };
  }

  private async listNames(prefix: string): Promise<string[]> {
    const entries = await this.metadata.listAll(prefix, { keysOnly: true });
    return entries.map((e) => keys.lastComponent(e.key)).filter((k) => k.length > 0);
  }

  // ---- clusters ----------------------------------------------------------------------------

  listClusters(): Promise<string[]> {
    return this.listNames(keys.clustersPrefix());
  }

  async getClusterEntry(name: string): Promise<Entry | undefined> {
    return this.metadata.get(keys.clusterInfo(name));
  }

  async getCluster(name: string): Promise<ClusterData | undefined> {
    const e = await this.cache.get(keys.clusterInfo(name));
    return e && decodeCluster(e.key, e.value);
  }

  async createCluster(name: string, data: ClusterData): Promise<void> {
    try {
      await this.commit([
        { op: 'put', key: keys.clusterInfo(name), value: encodeJson(data), expectedVersion: 'absent' },
      ]);
    } catch (err) {
      if (MetadataErrors.is(err, 'KEY_EXISTS')) throw policyErrors.make('CLUSTER_EXISTS', { cluster: name });
      throw err;
    }
  }

  async updateCluster(name: string, data: ClusterData): Promise<void> {
    await this.retryCas(`cluster ${name}`, async () => {
      const e = await this.getClusterEntry(name);
      if (!e) throw policyErrors.make('CLUSTER_NOT_FOUND', { cluster: name });
      await this.commit([{ op: 'put', key: e.key, value: encodeJson(data), expectedVersion: e.version }]);
    });
  }

  /** Refused while a tenant still lists the cluster in its allowedClusters. */
  async deleteCluster(name: string): Promise<void> {
    await this.retryCas(`cluster ${name}`, async () => {
      const e = await this.getClusterEntry(name);
      if (!e) throw policyErrors.make('CLUSTER_NOT_FOUND', { cluster: name });
      const tenants = await this.metadata.listAll(keys.tenantsPrefix());
      for (const t of tenants) {
        if (decodeTenant(t.key, t.value).allowedClusters.includes(name)) {
          throw policyErrors.make('CLUSTER_IN_USE', { cluster: name, tenant: keys.lastComponent(t.key) });
        }
      }
      await this.commit([{ op: 'delete', key: e.key, expectedVersion: e.version }]);
    });
  }

  // ---- tenants -----------------------------------------------------------------------------

  listTenants(): Promise<string[]> {
    return this.listNames(keys.tenantsPrefix());
  }

  async getTenantEntry(name: string): Promise<Entry | undefined> {
    return this.metadata.get(keys.tenant(name));
  }

  async getTenant(name: string): Promise<TenantInfo | undefined> {
    const e = await this.cache.get(keys.tenant(name));
    return e && decodeTenant(e.key, e.value);
  }

  /** The ops that check every cluster exists and pin them against concurrent deletion. */
  private async clusterTouches(clusters: readonly string[]): Promise<TxnOp[]> {
    const ops: TxnOp[] = [];
    const missing: string[] = [];
    for (const c of clusters) {
      const e = await this.getClusterEntry(c).catch((err) => {
        if (policyErrors.is(err, 'INVALID_NAME') || MetadataErrors.is(err, 'INVALID_KEY')) return undefined;
        throw err;
      });
      if (e) ops.push(this.touch(e));
      else missing.push(c);
    }
    if (missing.length > 0) throw policyErrors.make('UNKNOWN_CLUSTERS', { clusters: missing.join(', ') });
    return ops;
  }

  async createTenant(name: string, info: TenantInfo): Promise<void> {
    if (info.allowedClusters.length === 0) throw policyErrors.make('CLUSTERS_EMPTY');
    await this.retryCas(`tenant ${name}`, async () => {
      if (await this.getTenantEntry(name)) throw policyErrors.make('TENANT_EXISTS', { tenant: name });
      const touches = await this.clusterTouches(info.allowedClusters);
      await this.commit([
        { op: 'put', key: keys.tenant(name), value: encodeJson(info), expectedVersion: 'absent' },
        ...touches,
      ]);
    });
  }

  async updateTenant(name: string, info: TenantInfo): Promise<void> {
    if (info.allowedClusters.length === 0) throw policyErrors.make('CLUSTERS_EMPTY');
    await this.retryCas(`tenant ${name}`, async () => {
      const e = await this.getTenantEntry(name);
      if (!e) throw policyErrors.make('TENANT_NOT_FOUND', { tenant: name });
      const touches = await this.clusterTouches(info.allowedClusters);
      await this.commit([
        { op: 'put', key: e.key, value: encodeJson(info), expectedVersion: e.version },
        ...touches,
      ]);
    });
  }

  /** Refused (409) while the tenant has namespaces. */
  async deleteTenant(name: string): Promise<void> {
    await this.retryCas(`tenant ${name}`, async () => {
      const e = await this.getTenantEntry(name);
      if (!e) throw policyErrors.make('TENANT_NOT_FOUND', { tenant: name });
      const namespaces = await this.listNamespaces(name);
      if (namespaces.length > 0) {
        throw policyErrors.make('TENANT_NOT_EMPTY', { tenant: name, count: namespaces.length });
      }
      await this.commit([{ op: 'delete', key: e.key, expectedVersion: e.version }]);
    });
  }

  // ---- namespaces --------------------------------------------------------------------------

  /** Namespaces of a tenant as "tenant/ns" (Pulsar's form). */
  async listNamespaces(tenant: string): Promise<string[]> {
    const names = await this.listNames(keys.namespacesPrefix(tenant));
    return names.map((n) => `${tenant}/${n}`);
  }

  /** Fresh read (for read-modify-write); undefined if absent. */
  async readPolicies(ns: NamespaceName): Promise<(Versioned<Policies> & { entry: Entry }) | undefined> {
    const e = await this.metadata.get(keys.namespacePolicies(ns.tenant, ns.namespace));
    return e && { value: decodePolicies(e.key, e.value), version: e.version, entry: e };
  }

  /** Cached read for the hot path; undefined if the namespace does not exist (or is being deleted). */
  async getPolicies(ns: NamespaceName): Promise<Policies | undefined> {
    const e = await this.cache.get(keys.namespacePolicies(ns.tenant, ns.namespace));
    if (!e) return undefined;
    const p = decodePolicies(e.key, e.value);
    return p.deleted ? undefined : p;
  }

  /** Write a namespace document at `expectedVersion` (or 'absent'), with extra ops in one txn. */
  async writePolicies(
    ns: NamespaceName,
    policies: Policies,
    expectedVersion: number | 'absent',
    extra: TxnOp[] = [],
  ): Promise<void> {
    const key = keys.namespacePolicies(ns.tenant, ns.namespace);
    await this.commit([{ op: 'put', key, value: encodeJson(policies), expectedVersion }, ...extra]);
  }

  // ---- partitioned topics ------------------------------------------------------------------

  async getPartitionedMetadata(topic: TopicName): Promise<PartitionedTopicMetadata> {
    const e = await this.cache.get(
      keys.partitionedTopic(topic.tenant, topic.namespace, topic.domain, topic.local),
    );
    return e ? decodePartitioned(e.key, e.value) : { partitions: 0 };
  }

  async readPartitioned(topic: TopicName): Promise<Entry | undefined> {
    return this.metadata.get(keys.partitionedTopic(topic.tenant, topic.namespace, topic.domain, topic.local));
  }

  /** Local names of the partitioned topics of a namespace in one domain. */
  async listPartitionedTopics(ns: NamespaceName, domain: TopicName['domain']): Promise<string[]> {
    const entries = await this.metadata.listAll(
      keys.partitionedTopicsPrefix(ns.tenant, ns.namespace, domain),
      {
        keysOnly: true,
      },
    );
    const out: string[] = [];
    for (const e of entries) {
      const parsed = keys.parsePartitionedTopicKey(e.key);
      if (parsed) out.push(parsed.localName);
    }
    return out;
  }

  partitionedKey(topic: TopicName): string {
    return keys.partitionedTopic(topic.tenant, topic.namespace, topic.domain, topic.local);
  }

  // ---- topic-level policies ----------------------------------------------------------------

  topicPoliciesKey(topic: TopicName): string {
    return keys.topicPolicies(topic.tenant, topic.namespace, topic.domain, topic.local);
  }

  async getTopicPolicies(topic: TopicName): Promise<TopicPolicies | undefined> {
    const e = await this.cache.get(this.topicPoliciesKey(topic));
    return e && decodeTopicPolicies(e.key, e.value);
  }

  async readTopicPolicies(topic: TopicName): Promise<Versioned<TopicPolicies> | undefined> {
    const e = await this.metadata.get(this.topicPoliciesKey(topic));
    return e && { value: decodeTopicPolicies(e.key, e.value), version: e.version };
  }

  // ---- resolution --------------------------------------------------------------------------

  /**
   * The effective policies of a topic (topic → namespace → broker defaults). Partitions inherit
   * the topic-level policies of their partitioned parent unless they have their own.
   */
  async effectivePolicies(topic: TopicName, parent?: TopicName): Promise<EffectivePolicies> {
    const ns = await this.getPolicies(topic);
    let tp = await this.getTopicPolicies(topic);
    if (!tp && parent && parent.full !== topic.full) tp = await this.getTopicPolicies(parent);
    return resolvePolicies(this.defaults, this.cluster, ns, tp);
  }
}
