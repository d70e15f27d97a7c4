/**
 * Pure policy decisions about the life of data, topics and subscriptions, for the broker and the
 * managed ledger: which ledgers retention lets go, which messages TTL expires, which subscriptions
 * expire, whether a topic may be created on first use.
 */
import type { PolicyDefaults } from './defaults.ts';
import type { TopicName } from './names.ts';
import { brokerAutoTopicCreation } from './resolve.ts';
import type { AutoTopicCreationOverride, RetentionPolicies } from './types.ts';

const MB = 1024 * 1024;

export interface LedgerInfo {
  readonly ledgerId: number;
  readonly sizeBytes: number;
  /** When the ledger was closed (its last entry's time); retention age counts from it. */
  readonly closedAtMs: number;
}

/**
 * Ledgers retention allows to delete, oldest first. `consumed` are the closed ledgers entirely
 * before every cursor's mark-delete position (the caller never passes the current ledger or one a
 * cursor still needs). `totalRetainedBytes` is the size of every ledger of the topic. Pulsar's
 * rule: a consumed ledger goes once it is older than the retention time OR keeping it would
 * exceed the retention size; -1 disables a dimension; both -1 keeps everything; 0/0 deletes
 * consumed data at once. Deletion stops at the first ledger that must stay (order is kept).
 */
export function ledgersToTrim(
  retention: RetentionPolicies,
  consumed: readonly LedgerInfo[],
  totalRetainedBytes: number,
  nowMs: number,
): number[] {
  const { retentionTimeInMinutes: time, retentionSizeInMB: size } = retention;
  if (time < 0 && size < 0) return [];
  const out: number[] = [];
  let remaining = totalRetainedBytes;
  for (const l of consumed) {
    const expired = time >= 0 && nowMs - l.closedAtMs >= time * 60_000;
    const overSize = size >= 0 && remaining > size * MB;
    if (!expired && !overSize) break;
    out.push(l.ledgerId);
    remaining -= l.sizeBytes;
  }
  return out;
}

/** TTL: a message published before this time is expired (undefined = TTL off). */
export function ttlCutoffMs(messageTtlSeconds: number, nowMs: number): number | undefined {
  return messageTtlSeconds > 0 ? nowMs - messageTtlSeconds * 1000 : undefined;
}

export function isMessageExpired(publishTimeMs: number, messageTtlSeconds: number, nowMs: number): boolean {
  const cutoff = ttlCutoffMs(messageTtlSeconds, nowMs);
  return cutoff !== undefined && publishTimeMs < cutoff;
}

/** A subscription with no consumer since `lastActiveMs` expires after the configured minutes. */
export function isSubscriptionExpired(
  expirationMinutes: number,
  lastActiveMs: number,
  hasConsumers: boolean,
  nowMs: number,
): boolean {
  return !hasConsumers && expirationMinutes > 0 && nowMs - lastActiveMs > expirationMinutes * 60_000;
}

export type AutoCreateDecision =
  | { readonly create: false }
  | { readonly create: true; readonly partitions: number };

/**
 * May `topic` be created on first use (producer, consumer, lookup), and as what? `partitions` 0
 * means a plain non-partitioned topic. A partition name (`x-partition-3`) is always created as the
 * single partition it names when creation is allowed.
 */
export function decideAutoTopicCreation(
  topic: TopicName,
  nsOverride: AutoTopicCreationOverride | undefined,
  d: PolicyDefaults,
): AutoCreateDecision {
  const rule = nsOverride ?? brokerAutoTopicCreation(d);
  if (!rule.allowAutoTopicCreation) return { create: false };
  if (topic.partitionIndex >= 0) return { create: true, partitions: 0 };
  if (rule.topicType === 'partitioned') {
    return { create: true, partitions: rule.defaultNumPartitions ?? d.defaultNumPartitions };
  }
  return { create: true, partitions: 0 };
}
