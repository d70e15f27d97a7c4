/**
 * Stored form of the multi-tenancy documents: UTF-8 JSON with Pulsar's field names (the same
 * document the admin API serves). Reading normalises a document (missing maps and flags get their
 * empty values) so that documents written by older versions stay readable; a value that is not a
 * JSON object is METADATA_CORRUPT, never a crash.
 */
import { emptyPolicies } from './defaults.ts';
import { policyErrors } from './errors.ts';
import type { ClusterData, PartitionedTopicMetadata, Policies, TenantInfo, TopicPolicies } from './types.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decodeObject(key: string, bytes: Uint8Array): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw policyErrors.make('METADATA_CORRUPT', { key, why: (e as Error).message });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw policyErrors.make('METADATA_CORRUPT', { key, why: 'not a JSON object' });
  }
  return parsed as Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export function decodeCluster(key: string, bytes: Uint8Array): ClusterData {
  return decodeObject(key, bytes) as ClusterData;
}

export function decodeTenant(key: string, bytes: Uint8Array): TenantInfo {
  const o = decodeObject(key, bytes);
  return {
    adminRoles: Array.isArray(o.adminRoles) ? (o.adminRoles as string[]) : [],
    allowedClusters: Array.isArray(o.allowedClusters) ? (o.allowedClusters as string[]) : [],
  };
}

export function decodePolicies(key: string, bytes: Uint8Array): Policies {
  return normalizePolicies(decodeObject(key, bytes), key);
}

/** Fill the fields a document may lack; keep every field it has. */
export function normalizePolicies(o: Record<string, unknown>, key = 'policies'): Policies {
  const base = emptyPolicies(1);
  const p = { ...base, ...o } as Policies;
  const auth = isRecord(o.auth_policies) ? o.auth_policies : {};
  p.auth_policies = {
    namespace_auth: isRecord(auth.namespace_auth)
      ? (auth.namespace_auth as Policies['auth_policies']['namespace_auth'])
      : {},
    destination_auth: isRecord(auth.destination_auth)
      ? (auth.destination_auth as Policies['auth_policies']['destination_auth'])
      : {},
    subscription_auth_roles: isRecord(auth.subscription_auth_roles)
      ? (auth.subscription_auth_roles as Record<string, string[]>)
      : {},
  };
  for (const m of [
    'backlog_quota_map',
    'topicDispatchRate',
    'subscriptionDispatchRate',
    'clusterSubscribeRate',
    'publishMaxMessageRate',
    'properties',
  ] as const) {
    if (!isRecord(p[m])) (p as unknown as Record<string, unknown>)[m] = {};
  }
  if (!Array.isArray(p.replication_clusters)) p.replication_clusters = [];
  if (!isRecord(p.bundles) || !Array.isArray(p.bundles.boundaries)) {
    throw policyErrors.make('METADATA_CORRUPT', { key, why: 'bundles missing' });
  }
  if (typeof p.offload_threshold !== 'number') p.offload_threshold = -1;
  if (typeof p.deleted !== 'boolean') p.deleted = false;
  return p;
}

export function decodeTopicPolicies(key: string, bytes: Uint8Array): TopicPolicies {
  return decodeObject(key, bytes) as TopicPolicies;
}

export function decodePartitioned(key: string, bytes: Uint8Array): PartitionedTopicMetadata {
  const o = decodeObject(key, bytes);
  if (!Number.isSafeInteger(o.partitions) || (o.partitions as number) < 0) {
    throw policyErrors.make('METADATA_CORRUPT', { key, why: 'partitions is not a count' });
  }
  return { partitions: o.partitions as number };
}
