/**
 * Topic and namespace names as Pulsar writes them (pulsar-protocol.md §5.1 item 4):
 * `persistent://tenant/ns/topic`, `non-persistent://tenant/ns/topic`; short forms are normalised,
 * `topic` → `persistent://public/default/topic` and `tenant/ns/topic` → `persistent://tenant/ns/topic`.
 * Bundle hashing uses the full normalised name, as Pulsar's NamespaceBundles.findBundle does.
 * Legacy four-part names (`property/cluster/ns/topic`) are refused with INVALID_TOPIC_NAME.
 */
import { ClusterErrors } from './errors.ts';

export const TopicDomains = ['persistent', 'non-persistent'] as const;
export type TopicDomain = (typeof TopicDomains)[number];

export const DEFAULT_TENANT = 'public';
export const DEFAULT_NAMESPACE = 'default';
const PARTITION_SUFFIX = '-partition-';
/** Tenant and namespace characters Pulsar accepts (NamedEntity.checkName). */
const NAME_PART = /^[-=:.\w]+$/;
/** Longest topic name accepted; etcd keys and wire frames stay bounded. */
export const MAX_TOPIC_NAME_BYTES = 1024;

export interface NamespaceName {
  readonly tenant: string;
  readonly namespace: string;
  /** `tenant/namespace` */
  readonly full: string;
}

export interface TopicName {
  readonly domain: TopicDomain;
  readonly tenant: string;
  readonly namespace: string;
  /** The local name, including any `-partition-N` suffix. */
  readonly localName: string;
  /** `domain://tenant/namespace/localName`: what bundles hash. */
  readonly full: string;
  readonly namespaceName: NamespaceName;
  /** N for `…-partition-N`, else -1. */
  readonly partitionIndex: number;
  /** The name without a partition suffix (equals `full` for non-partitions). */
  readonly partitionedTopic: string;
}

export function parseNamespace(name: string): NamespaceName {
  const bad = (why: string) => ClusterErrors.make('INVALID_NAMESPACE', { namespace: name, why });
  const parts = name.split('/');
  if (parts.length !== 2) throw bad('expected tenant/namespace');
  const [tenant, namespace] = parts;
  if (!NAME_PART.test(tenant)) throw bad('bad tenant name');
  if (!NAME_PART.test(namespace)) throw bad('bad namespace name');
  return { tenant, namespace, full: `${tenant}/${namespace}` };
}

export function parseTopicName(name: string): TopicName {
  const bad = (why: string) => ClusterErrors.make('INVALID_TOPIC_NAME', { topic: name, why });
  if (typeof name !== 'string' || name.length === 0) throw bad('empty');
  if (Buffer.byteLength(name, 'utf8') > MAX_TOPIC_NAME_BYTES)
    throw bad(`longer than ${MAX_TOPIC_NAME_BYTES} bytes`);
  let domain: TopicDomain = 'persistent';
  let rest = name;
  const sep = name.indexOf('://');
  if (sep >= 0) {
    const d = name.slice(0, sep);
    if (!(TopicDomains as readonly string[]).includes(d)) throw bad(`unknown domain "${d}"`);
    domain = d as TopicDomain;
    rest = name.slice(sep + 3);
  } else if (name.includes('/')) {
    const slashes = name.split('/').length - 1;
    if (slashes !== 2) throw bad('short names are "topic" or "tenant/namespace/topic"');
  } else {
    rest = `${DEFAULT_TENANT}/${DEFAULT_NAMESPACE}/${name}`;
  }
  const parts = rest.split('/');
  if (parts.length === 4) throw bad('legacy property/cluster/namespace/topic names are not supported');
  if (parts.length !== 3) throw bad('expected domain://tenant/namespace/topic');
  const [tenant, namespace, localName] = parts;
  if (!NAME_PART.test(tenant)) throw bad('bad tenant name');
  if (!NAME_PART.test(namespace)) throw bad('bad namespace name');
  if (localName.length === 0) throw bad('empty topic local name');
  const full = `${domain}://${tenant}/${namespace}/${localName}`;
  const partitionIndex = partitionOf(localName);
  const partitionedTopic =
    partitionIndex < 0
      ? full
      : `${domain}://${tenant}/${namespace}/${localName.slice(0, localName.lastIndexOf(PARTITION_SUFFIX))}`;
  return {
    domain,
    tenant,
    namespace,
    localName,
    full,
    namespaceName: { tenant, namespace, full: `${tenant}/${namespace}` },
    partitionIndex,
    partitionedTopic,
  };
}

function partitionOf(localName: string): number {
  const at = localName.lastIndexOf(PARTITION_SUFFIX);
  if (at <= 0) return -1;
  const digits = localName.slice(at + PARTITION_SUFFIX.length);
  if (!/^(0|[1-9]\d{0,8})$/.test(digits)) return -1;
  return Number(digits);
}

/** `persistent://t/ns/x` + 3 → `persistent://t/ns/x-partition-3`. */
export function partitionName(topic: TopicName, index: number): string {
  return `${topic.partitionedTopic}${PARTITION_SUFFIX}${index}`;
}
