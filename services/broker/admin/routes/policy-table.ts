/**
 * The simple namespace policies, one row each: path segment, where the value lives in the
 * namespace document (and in the topic-policies document when topics may override it), its body
 * parser and the verb that sets it. Routes for GET / set / DELETE are generated from this table
 * for namespaces (`/namespaces/{t}/{ns}/<path>`) and topics (`/{domain}/{t}/{ns}/{topic}/<path>`).
 * Policies with extra rules (backlogQuota, replication, permissions) have their own routes.
 */
import type { Policies, TopicPolicies } from '../../../../lib/policies/types.ts';
import {
  badBody,
  parseAutoTopicCreation,
  parseBacklogQuota,
  parseBacklogQuotaType,
  parseBoolean,
  parseDispatchRate,
  parseNonNegative,
  parsePersistence,
  parsePublishRate,
  parseRetention,
  parseSubscribeRate,
} from '../../../../lib/policies/validate.ts';
import type { AdminContext } from '../context.ts';

type Doc = Record<string, unknown>;

export interface Slot {
  get(doc: Doc): unknown;
  set(doc: Doc, value: unknown): void;
  del(doc: Doc): void;
}

export function direct(field: string): Slot {
  return {
    get: (d) => d[field],
    set: (d, v) => {
      d[field] = v;
    },
    del: (d) => {
      delete d[field];
    },
  };
}

/** Namespace rate maps are keyed by cluster name. */
export function perCluster(field: string, cluster: string): Slot {
  const map = (d: Doc) => (d[field] ?? {}) as Record<string, unknown>;
  return {
    get: (d) => map(d)[cluster],
    set: (d, v) => {
      d[field] = { ...map(d), [cluster]: v };
    },
    del: (d) => {
      const m = { ...map(d) };
      delete m[cluster];
      d[field] = m;
    },
  };
}

export interface PolicyRow {
  readonly path: string;
  readonly verb: 'POST' | 'PUT';
  /** Field of the namespace document (for an initial Policies body on namespace create). */
  readonly nsField: keyof Policies;
  nsSlot(ctx: AdminContext): Slot;
  /** Topic-level override slot; absent = namespace only. */
  readonly topicField?: keyof TopicPolicies;
  parse(body: unknown, ctx: AdminContext): unknown;
  /** Value GET answers when unset (absent = 204 No Content, as Pulsar's null). */
  readonly unset?: unknown;
  /** Path of the topic-level route when it differs from `path`. */
  readonly topicPath?: string;
}

const maxEnsemble = 64;

export const POLICY_ROWS: readonly PolicyRow[] = [
  {
    path: 'retention',
    verb: 'POST',
    nsField: 'retention_policies',
    nsSlot: () => direct('retention_policies'),
    topicField: 'retention_policies',
    parse: parseRetention,
  },
  {
    path: 'messageTTL',
    verb: 'POST',
    nsField: 'message_ttl_in_seconds',
    nsSlot: () => direct('message_ttl_in_seconds'),
    topicField: 'message_ttl_in_seconds',
    parse: (b) => parseNonNegative(b, 'messageTTL'),
  },
  {
    path: 'deduplication',
    topicPath: 'deduplicationEnabled',
    verb: 'POST',
    nsField: 'deduplicationEnabled',
    nsSlot: () => direct('deduplicationEnabled'),
    topicField: 'deduplicationEnabled',
    parse: (b) => parseBoolean(b, 'deduplication'),
  },
  {
    path: 'persistence',
    verb: 'POST',
    nsField: 'persistence',
    nsSlot: () => direct('persistence'),
    topicField: 'persistence',
    parse: (b) => parsePersistence(b, maxEnsemble),
  },
  {
    path: 'dispatchRate',
    verb: 'POST',
    nsField: 'topicDispatchRate',
    nsSlot: (ctx) => perCluster('topicDispatchRate', ctx.policies.cluster),
    topicField: 'dispatchRate',
    parse: (b) => parseDispatchRate(b, 'dispatchRate'),
  },
  {
    path: 'subscriptionDispatchRate',
    verb: 'POST',
    nsField: 'subscriptionDispatchRate',
    nsSlot: (ctx) => perCluster('subscriptionDispatchRate', ctx.policies.cluster),
    topicField: 'subscriptionDispatchRate',
    parse: (b) => parseDispatchRate(b, 'subscriptionDispatchRate'),
  },
  {
    path: 'publishRate',
    verb: 'POST',
    nsField: 'publishMaxMessageRate',
    nsSlot: (ctx) => perCluster('publishMaxMessageRate', ctx.policies.cluster),
    topicField: 'publishRate',
    parse: parsePublishRate,
  },
  {
    path: 'subscribeRate',
    verb: 'POST',
    nsField: 'clusterSubscribeRate',
    nsSlot: (ctx) => perCluster('clusterSubscribeRate', ctx.policies.cluster),
    topicField: 'subscribeRate',
    parse: parseSubscribeRate,
  },
  {
    path: 'subscriptionExpirationTime',
    verb: 'POST',
    nsField: 'subscription_expiration_time_minutes',
    nsSlot: () => direct('subscription_expiration_time_minutes'),
    parse: (b) => parseNonNegative(b, 'subscriptionExpirationTime'),
  },
  {
    path: 'autoTopicCreation',
    verb: 'POST',
    nsField: 'autoTopicCreationOverride',
    nsSlot: () => direct('autoTopicCreationOverride'),
    parse: (b, ctx) => parseAutoTopicCreation(b, ctx.policies.defaults.maxNumPartitionsPerPartitionedTopic),
  },
  {
    path: 'offloadThreshold',
    verb: 'PUT',
    nsField: 'offload_threshold',
    nsSlot: () => ({ ...direct('offload_threshold'), del: (d) => void (d.offload_threshold = -1) }),
    parse: (b) => parseNonNegativeOrOff(b, 'offloadThreshold'),
    unset: -1,
  },
  {
    path: 'offloadDeletionLagMs',
    verb: 'PUT',
    nsField: 'offload_deletion_lag_ms',
    nsSlot: () => direct('offload_deletion_lag_ms'),
    parse: (b) => parseNonNegative(b, 'offloadDeletionLagMs'),
  },
  {
    path: 'maxProducersPerTopic',
    topicPath: 'maxProducers',
    verb: 'POST',
    nsField: 'max_producers_per_topic',
    nsSlot: () => direct('max_producers_per_topic'),
    topicField: 'max_producers_per_topic',
    parse: (b) => parseNonNegative(b, 'maxProducersPerTopic'),
  },
  {
    path: 'maxConsumersPerTopic',
    topicPath: 'maxConsumers',
    verb: 'POST',
    nsField: 'max_consumers_per_topic',
    nsSlot: () => direct('max_consumers_per_topic'),
    topicField: 'max_consumers_per_topic',
    parse: (b) => parseNonNegative(b, 'maxConsumersPerTopic'),
  },
  {
    path: 'subscriptionAuthMode',
    verb: 'POST',
    nsField: 'subscription_auth_mode',
    nsSlot: () => ({
      ...direct('subscription_auth_mode'),
      del: (d) => void (d.subscription_auth_mode = 'None'),
    }),
    parse: (b) => {
      if (b !== 'None' && b !== 'Prefix') throw badBody('subscriptionAuthMode must be "None" or "Prefix"');
      return b;
    },
    unset: 'None',
  },
];

function parseNonNegativeOrOff(body: unknown, policy: string): number {
  if (body === -1 || body === '-1') return -1;
  return parseNonNegative(body, policy);
}

/**
 * Initial policies of a namespace-create body (Pulsar accepts a Policies document): every field
 * the table knows is validated by its row's parser; the cluster-keyed rate maps take their entry
 * for this cluster. Unknown fields are ignored, as Pulsar's JSON reader does.
 */
export function initialPolicies(ctx: AdminContext, body: Record<string, unknown>): Partial<Policies> {
  const out: Doc = {};
  for (const row of POLICY_ROWS) {
    const v = body[row.nsField];
    if (v === undefined || v === null) continue;
    const slot = row.nsSlot(ctx);
    if (isClusterMap(row)) {
      if (typeof v !== 'object' || Array.isArray(v))
        throw badBody(`${row.nsField} must map cluster names to rates`);
      const keyed = (v as Record<string, unknown>)[ctx.policies.cluster];
      if (keyed !== undefined && keyed !== null) slot.set(out, row.parse(keyed, ctx));
      continue;
    }
    slot.set(out, row.parse(v, ctx));
  }
  if (body.backlog_quota_map !== undefined && body.backlog_quota_map !== null) {
    const m = body.backlog_quota_map;
    if (typeof m !== 'object' || Array.isArray(m)) throw badBody('backlog_quota_map must be an object');
    const quotas: Record<string, unknown> = {};
    for (const [type, q] of Object.entries(m as Record<string, unknown>)) {
      quotas[parseBacklogQuotaType(type)] = parseBacklogQuota(q);
    }
    out.backlog_quota_map = quotas;
  }
  if (body.replication_clusters !== undefined && body.replication_clusters !== null) {
    const list = body.replication_clusters;
    if (!Array.isArray(list) || !list.every((c) => typeof c === 'string')) {
      throw badBody('replication_clusters must be an array of cluster names');
    }
    out.replication_clusters = [...new Set(list as string[])];
  }
  return out as Partial<Policies>;
}

function isClusterMap(row: PolicyRow): boolean {
  return (
    row.nsField === 'topicDispatchRate' ||
    row.nsField === 'subscriptionDispatchRate' ||
    row.nsField === 'publishMaxMessageRate' ||
    row.nsField === 'clusterSubscribeRate'
  );
}
