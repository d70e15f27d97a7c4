/**
 * Namespace lifecycle and policy changes over the PolicyStore. Each change is a read-modify-write
 * of the namespace document under a CAS (retried a bounded number of times when it loses a race,
 * then 409), with cross-policy invariants (retention >= backlog quota, replication clusters
 * allowed for the tenant) checked on the document about to be written.
 */
import * as keys from '../metadata/keys.ts';
import type { TxnOp } from '../metadata/store.ts';
import { checkBoundaries } from './bundles.ts';
import { emptyPolicies } from './defaults.ts';
import { policyErrors } from './errors.ts';
import { formatNamespace, type NamespaceName } from './names.ts';
import type { PolicyStore } from './store.ts';
import type { Policies, TenantInfo } from './types.ts';

const MB = 1024 * 1024;

/** Retention must hold at least what the backlog quota lets accumulate (Pulsar's rule). */
export function checkRetentionVersusQuota(
  ns: NamespaceName,
  p: Policies,
  changed: 'retention' | 'quota',
): void {
  const r = p.retention_policies;
  const q = p.backlog_quota_map.destination_storage;
  if (!r || !q || r.retentionSizeInMB < 0 || q.limitSize < 0) return;
  if (r.retentionSizeInMB * MB < q.limitSize) {
    const code = changed === 'retention' ? 'RETENTION_BELOW_QUOTA' : 'QUOTA_ABOVE_RETENTION';
    throw policyErrors.make(code, { namespace: formatNamespace(ns) });
  }
  const rt = r.retentionTimeInMinutes;
  const qa = p.backlog_quota_map.message_age;
  if (qa && rt >= 0 && qa.limitTime >= 0 && rt * 60 < qa.limitTime) {
    const code = changed === 'retention' ? 'RETENTION_BELOW_QUOTA' : 'QUOTA_ABOVE_RETENTION';
    throw policyErrors.make(code, { namespace: formatNamespace(ns) });
  }
}

export function checkReplicationClusters(
  ns: NamespaceName,
  tenant: TenantInfo,
  clusters: readonly string[],
): void {
  for (const c of clusters) {
    if (!tenant.allowedClusters.includes(c)) {
      throw policyErrors.make('CLUSTER_NOT_ALLOWED', { cluster: c, tenant: ns.tenant });
    }
  }
}

export interface CreateNamespaceOptions {
  /** Optional initial policies (Pulsar allows a Policies body on create). */
  initial?: Partial<Policies>;
  /** Bundle count; default from the broker defaults. */
  numBundles?: number;
}

export async function createNamespace(
  store: PolicyStore,
  ns: NamespaceName,
  opts: CreateNamespaceOptions = {},
): Promise<Policies> {
  const numBundles = opts.numBundles ?? store.defaults.defaultNumberOfNamespaceBundles;
  if (
    !Number.isSafeInteger(numBundles) ||
    numBundles < 1 ||
    numBundles > store.defaults.maxNamespaceBundles
  ) {
    throw policyErrors.make('INVALID_POLICY', {
      policy: 'bundles',
      why: `numBundles must be between 1 and ${store.defaults.maxNamespaceBundles}`,
    });
  }
  const policies: Policies = { ...emptyPolicies(numBundles), ...opts.initial, deleted: false };
  if (opts.initial?.bundles) checkBoundaries(policies.bundles);
  checkRetentionVersusQuota(ns, policies, 'retention');
  return store.retryCas(`namespace ${formatNamespace(ns)}`, async () => {
    const tenantEntry = await store.getTenantEntry(ns.tenant);
    if (!tenantEntry) throw policyErrors.make('TENANT_NOT_FOUND', { tenant: ns.tenant });
    const tenant = JSON.parse(new TextDecoder().decode(tenantEntry.value)) as TenantInfo;
    checkReplicationClusters(
      ns,
      { adminRoles: [], allowedClusters: tenant.allowedClusters ?? [] },
      policies.replication_clusters,
    );
    if (await store.readPolicies(ns))
      throw policyErrors.make('NAMESPACE_EXISTS', { namespace: formatNamespace(ns) });
    await store.writePolicies(ns, policies, 'absent', [store.touch(tenantEntry)]);
    return policies;
  });
}

/**
 * Read-modify-write of a namespace document. `mutate` gets a copy and returns the value to hand
 * back to the caller; it may throw to refuse the change (nothing is written then).
 */
export async function updatePolicies<T>(
  store: PolicyStore,
  ns: NamespaceName,
  mutate: (p: Policies, tenant: TenantInfo) => T,
): Promise<T> {
  return store.retryCas(`namespace ${formatNamespace(ns)}`, async () => {
    const cur = await store.readPolicies(ns);
    if (!cur || cur.value.deleted)
      throw policyErrors.make('NAMESPACE_NOT_FOUND', { namespace: formatNamespace(ns) });
    const tenant = (await store.getTenant(ns.tenant)) ?? { adminRoles: [], allowedClusters: [] };
    const next = structuredClone(cur.value);
    const result = mutate(next, tenant);
    await store.writePolicies(ns, next, cur.version);
    return result;
  });
}

/** The namespace document (fresh), or NAMESPACE_NOT_FOUND. */
export async function requirePolicies(store: PolicyStore, ns: NamespaceName): Promise<Policies> {
  const cur = await store.readPolicies(ns);
  if (!cur || cur.value.deleted)
    throw policyErrors.make('NAMESPACE_NOT_FOUND', { namespace: formatNamespace(ns) });
  return cur.value;
}

/** Lists every topic of a namespace (non-partitioned topics and partitions), for emptiness checks. */
export type TopicLister = (ns: NamespaceName) => Promise<string[]>;

/**
 * Delete a namespace. Without `force`, 409 while it has topics (partitioned topics or topics the
 * broker knows). The document is first marked `deleted` (so no topic can be created in it while
 * the delete runs), then its partitioned-topic metadata, topic policies and the document itself are
 * removed. With `force`, `deleteTopics` is called first to remove the topics' data.
 */
export async function deleteNamespace(
  store: PolicyStore,
  ns: NamespaceName,
  opts: { force: boolean; listTopics: TopicLister; deleteTopics?: (topics: string[]) => Promise<void> },
): Promise<void> {
  const name = formatNamespace(ns);
  const marked = await store.retryCas(`namespace ${name}`, async () => {
    const cur = await store.readPolicies(ns);
    if (!cur) throw policyErrors.make('NAMESPACE_NOT_FOUND', { namespace: name });
    const next = { ...cur.value, deleted: true };
    await store.writePolicies(ns, next, cur.version);
    return { wasDeleted: cur.value.deleted };
  });
  const unmark = () =>
    updateDeletedFlag(store, ns, false).catch(() => {
      /* the mark stays; a retried delete completes it */
    });
  let topics: string[];
  try {
    topics = await opts.listTopics(ns);
  } catch (err) {
    if (!marked.wasDeleted) await unmark();
    throw err;
  }
  const partitioned = [
    ...(await store.listPartitionedTopics(ns, 'persistent')).map((l) => ({
      domain: 'persistent' as const,
      l,
    })),
    ...(await store.listPartitionedTopics(ns, 'non-persistent')).map((l) => ({
      domain: 'non-persistent' as const,
      l,
    })),
  ];
  const count = topics.length + partitioned.length;
  if (count > 0 && !opts.force) {
    if (!marked.wasDeleted) await unmark();
    throw policyErrors.make('NAMESPACE_NOT_EMPTY', { namespace: name, count });
  }
  if (topics.length > 0) await opts.deleteTopics?.(topics);
  // Children first, in bounded transactions; the document goes last, so a crash midway leaves a
  // namespace still marked deleted that a retried delete finishes.
  const children: TxnOp[] = partitioned.map(({ domain, l }) => ({
    op: 'delete',
    key: keys.partitionedTopic(ns.tenant, ns.namespace, domain, l),
  }));
  for (let i = 0; i < children.length; i += 64) await store.commit(children.slice(i, i + 64));
  await store.metadata.deletePrefix(keys.topicPoliciesPrefix(ns.tenant, ns.namespace));
  await store.retryCas(`namespace ${name}`, async () => {
    const cur = await store.readPolicies(ns);
    if (!cur) return;
    await store.commit([{ op: 'delete', key: cur.entry.key, expectedVersion: cur.version }]);
  });
}

async function updateDeletedFlag(store: PolicyStore, ns: NamespaceName, deleted: boolean): Promise<void> {
  await store.retryCas(`namespace ${formatNamespace(ns)}`, async () => {
    const cur = await store.readPolicies(ns);
    if (!cur) return;
    await store.writePolicies(ns, { ...cur.value, deleted }, cur.version);
  });
}
