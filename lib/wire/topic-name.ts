/**
 * Topic names (pulsar-protocol.md §5.1.4, §5.2.4): `{persistent|non-persistent}://tenant/ns/local`.
 * Short forms are normalised: `local` → `persistent://public/default/local`, `tenant/ns/local` →
 * `persistent://tenant/ns/local`. A partition of a partitioned topic is the topic
 * `<name>-partition-<i>`. Legacy 4-part names (with a cluster) and anything else are invalid.
 */

export type TopicDomain = 'persistent' | 'non-persistent';

export interface TopicName {
  /** Full normalised name, e.g. `persistent://public/default/orders-partition-2`. */
  readonly full: string;
  readonly domain: TopicDomain;
  readonly tenant: string;
  readonly namespace: string;
  /** `tenant/ns`. */
  readonly namespaceName: string;
  /** Local part, including any `-partition-i` suffix. */
  readonly localName: string;
  /** Partition index, or −1 when the name is not a partition. */
  readonly partitionIndex: number;
  /** Full name without the partition suffix (== full when not a partition). */
  readonly partitionedName: string;
}

export const MAX_TOPIC_NAME_BYTES = 1024;
const PARTITION_SUFFIX = '-partition-';
/** Pulsar's naming rule for tenants and namespaces. */
const NAMED_ENTITY = /^[-=:.\w]+$/;
const DEFAULT_TENANT = 'public';
const DEFAULT_NAMESPACE = 'default';

export type TopicNameProblem = { readonly kind: 'invalid-topic-name'; readonly detail: string };

export function isTopicNameProblem(x: TopicName | TopicNameProblem): x is TopicNameProblem {
  return 'kind' in x;
}

export function parseTopicName(input: string): TopicName | TopicNameProblem {
  const bad = (detail: string): TopicNameProblem => ({
    kind: 'invalid-topic-name',
    detail: `${detail}: "${clip(input)}"`,
  });
  if (input.length === 0) return bad('empty topic name');
  if (Buffer.byteLength(input) > MAX_TOPIC_NAME_BYTES)
    return bad(`longer than ${MAX_TOPIC_NAME_BYTES} bytes`);
  // Control characters (including NUL) are never part of a valid name.
  if (hasControlCharacter(input)) return bad('control characters in topic name');
  let domain: TopicDomain = 'persistent';
  let rest = input;
  const scheme = input.indexOf('://');
  if (scheme >= 0) {
    const d = input.slice(0, scheme);
    if (d !== 'persistent' && d !== 'non-persistent') return bad(`unknown domain "${d}"`);
    domain = d;
    rest = input.slice(scheme + 3);
  }
  const parts = rest.split('/');
  let tenant: string;
  let namespace: string;
  let localName: string;
  if (scheme < 0 && parts.length === 1) {
    [tenant, namespace, localName] = [DEFAULT_TENANT, DEFAULT_NAMESPACE, parts[0]];
  } else if (parts.length === 3) {
    [tenant, namespace, localName] = parts as [string, string, string];
  } else {
    return bad('expected tenant/namespace/topic');
  }
  if (!NAMED_ENTITY.test(tenant)) return bad('invalid tenant');
  if (!NAMED_ENTITY.test(namespace)) return bad('invalid namespace');
  if (localName.length === 0) return bad('empty local name');
  const partitionIndex = partitionOf(localName);
  const namespaceName = `${tenant}/${namespace}`;
  const full = `${domain}://${namespaceName}/${localName}`;
  const partitionedName =
    partitionIndex < 0
      ? full
      : full.slice(0, full.length - PARTITION_SUFFIX.length - String(partitionIndex).length);
  return { full, domain, tenant, namespace, namespaceName, localName, partitionIndex, partitionedName };
}

function partitionOf(localName: string): number {
  const at = localName.lastIndexOf(PARTITION_SUFFIX);
  if (at <= 0) return -1;
  const digits = localName.slice(at + PARTITION_SUFFIX.length);
  if (!/^(0|[1-9]\d{0,8})$/.test(digits)) return -1;
  return Number(digits);
}

/** The name of partition `index` of a partitioned topic. */
export function partitionTopicName(topic: TopicName, index: number): string {
  return `${topic.partitionedName}${PARTITION_SUFFIX}${index}`;
}

/** Parse `tenant/ns` (as sent in GET_TOPICS_OF_NAMESPACE). */
export function parseNamespaceName(input: string): { tenant: string; namespace: string } | TopicNameProblem {
  const parts = input.split('/');
  if (parts.length !== 2 || !NAMED_ENTITY.test(parts[0]) || !NAMED_ENTITY.test(parts[1])) {
    return { kind: 'invalid-topic-name', detail: `invalid namespace "${clip(input)}"` };
  }
  return { tenant: parts[0], namespace: parts[1] };
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
