/**
 * Names of clusters, tenants, namespaces and topics, parsed and validated the way Pulsar does:
 * `persistent://tenant/ns/topic`, short names normalised to `persistent://public/default/...`,
 * partitions named `<topic>-partition-<n>`.
 */
import { policyErrors } from './errors.ts';

/** Tenants, namespaces and clusters: Pulsar's NamedEntity rule. */
const ENTITY_NAME = /^[-=:.\w]+$/;
export const MAX_ENTITY_NAME_LENGTH = 128;
export const MAX_TOPIC_LOCAL_NAME_LENGTH = 512;
const PARTITION_SUFFIX = /-partition-(\d+)$/;

export const TOPIC_DOMAINS = ['persistent', 'non-persistent'] as const;
export type TopicDomain = (typeof TOPIC_DOMAINS)[number];

export const DEFAULT_TENANT = 'public';
export const DEFAULT_NAMESPACE = 'default';

export function isValidEntityName(name: string): boolean {
  return name.length <= MAX_ENTITY_NAME_LENGTH && ENTITY_NAME.test(name);
}

export function checkEntityName(kind: 'tenant' | 'namespace' | 'cluster', name: string): void {
  if (!isValidEntityName(name)) throw policyErrors.make('INVALID_NAME', { kind, name });
}

export function isTopicDomain(value: string): value is TopicDomain {
  return (TOPIC_DOMAINS as readonly string[]).includes(value);
}

export interface NamespaceName {
  readonly tenant: string;
  readonly namespace: string;
}

export function namespaceName(tenant: string, namespace: string): NamespaceName {
  checkEntityName('tenant', tenant);
  checkEntityName('namespace', namespace);
  return { tenant, namespace };
}

/** "tenant/ns" (Pulsar's namespace string form). */
export function formatNamespace(ns: NamespaceName): string {
  return `${ns.tenant}/${ns.namespace}`;
}

export function parseNamespace(text: string): NamespaceName {
  const parts = text.split('/');
  if (parts.length !== 2) throw policyErrors.make('INVALID_NAME', { kind: 'namespace', name: text });
  return namespaceName(parts[0], parts[1]);
}

export interface TopicName extends NamespaceName {
  readonly domain: TopicDomain;
  /** The local name, including any `-partition-N` suffix. */
  readonly local: string;
  /** Full name: `persistent://tenant/ns/local`. */
  readonly full: string;
  /** -1 unless `local` ends in `-partition-N`. */
  readonly partitionIndex: number;
}

export function checkTopicLocalName(local: string): void {
  if (
    local.length === 0 ||
    local.length > MAX_TOPIC_LOCAL_NAME_LENGTH ||
    local.includes('/') ||
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
    /[\u0000-\u001f\u007f]/.test(local)
  ) {
    throw policyErrors.make('INVALID_NAME', { kind: 'topic', name: local });
  }
}

export function topicName(domain: TopicDomain, tenant: string, namespace: string, local: string): TopicName {
  namespaceName(tenant, namespace);
  checkTopicLocalName(local);
  const m = PARTITION_SUFFIX.exec(local);
  const partitionIndex = m ? Number(m[1]) : -1;
  return {
    domain,
    tenant,
    namespace,
    local,
    full: `${domain}://${tenant}/${namespace}/${local}`,
    partitionIndex: Number.isSafeInteger(partitionIndex) ? partitionIndex : -1,
  };
}

/** Parse a full or short topic name (`t`, `tenant/ns/t`, `persistent://tenant/ns/t`). */
export function parseTopicName(text: string): TopicName {
  let domain: TopicDomain = 'persistent';
  let rest = text;
  const sep = text.indexOf('://');
  if (sep >= 0) {
    const d = text.slice(0, sep);
    if (!isTopicDomain(d)) throw policyErrors.make('INVALID_NAME', { kind: 'topic', name: text });
    domain = d;
    rest = text.slice(sep + 3);
  }
  const parts = rest.split('/');
  if (parts.length === 1 && sep < 0) return topicName(domain, DEFAULT_TENANT, DEFAULT_NAMESPACE, parts[0]);
  if (parts.length !== 3) throw policyErrors.make('INVALID_NAME', { kind: 'topic', name: text });
  return topicName(domain, parts[0], parts[1], parts[2]);
}

/** The name of partition `index` of a partitioned topic. */
export function partitionName(topic: TopicName, index: number): TopicName {
  return topicName(topic.domain, topic.tenant, topic.namespace, `${topic.local}-partition-${index}`);
}

/** The partitioned parent of a partition (the topic itself when it is not a partition). */
export function partitionedParent(topic: TopicName): TopicName {
  if (topic.partitionIndex < 0) return topic;
  const local = topic.local.replace(PARTITION_SUFFIX, '');
  return topicName(topic.domain, topic.tenant, topic.namespace, local);
}
