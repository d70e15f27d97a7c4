/**
 * Backlog quota decisions (pure). The broker asks "what do I do for this topic now?" with the
 * topic's current backlog figures and gets one answer:
 *  - producer_request_hold → `hold`: stop reading from producers (they wait, sends time out client-side)
 *  - producer_exception    → `reject`: refuse new sends/producers with ProducerBlockedQuotaExceededException
 *  - consumer_backlog_eviction → `evict`: advance the slowest cursors (`evictions` says how far)
 * When both quotas are exceeded the stricter producer action wins (reject > hold > evict), as
 * producers must not be let through by one quota while another is exceeded; evictions asked by
 * either quota are still listed.
 */
import type { BacklogQuota, BacklogQuotaType } from './types.ts';

export interface SubscriptionBacklog {
  readonly name: string;
  /** Bytes between the cursor's mark-delete position and the end of the topic. */
  readonly backlogBytes: number;
  /** Entries in that backlog. */
  readonly backlogEntries: number;
  /** Publish time of the oldest unacknowledged message, or undefined when nothing is pending. */
  readonly oldestUnackedPublishTimeMs?: number;
}

export interface TopicBacklog {
  /** Bytes retained for the slowest subscription (Pulsar's topic backlogSize). */
  readonly backlogBytes: number;
  readonly subscriptions: readonly SubscriptionBacklog[];
}

export type QuotaAction = 'none' | 'hold' | 'reject' | 'evict';

export interface EvictionStep {
  readonly subscription: string;
  /** Skip this many entries from the mark-delete position (size quota). */
  readonly skipEntries?: number;
  /** Expire messages older than this many seconds (age quota). */
  readonly expireOlderThanSeconds?: number;
}

export interface QuotaDecision {
  readonly action: QuotaAction;
  /** Which quota types are exceeded. */
  readonly exceeded: readonly BacklogQuotaType[];
  /** For `evict`: what to do per subscription. Empty otherwise. */
  readonly evictions: readonly EvictionStep[];
}

/** Eviction brings a subscription's backlog down to this fraction of the limit (Pulsar: 0.9). */
export const EVICTION_TARGET_FRACTION = 0.9;

const SEVERITY: Record<QuotaAction, number> = { none: 0, evict: 1, hold: 2, reject: 3 };

function actionOf(quota: BacklogQuota): QuotaAction {
  switch (quota.policy) {
    case 'producer_request_hold':
      return 'hold';
    case 'producer_exception':
      return 'reject';
    case 'consumer_backlog_eviction':
      return 'evict';
  }
}

export function isSizeQuotaExceeded(quota: BacklogQuota | undefined, backlog: TopicBacklog): boolean {
  return quota !== undefined && quota.limitSize >= 0 && backlog.backlogBytes > quota.limitSize;
}

export function oldestUnackedMs(backlog: TopicBacklog): number | undefined {
  let oldest: number | undefined;
  for (const s of backlog.subscriptions) {
    const t = s.oldestUnackedPublishTimeMs;
    if (t !== undefined && (oldest === undefined || t < oldest)) oldest = t;
  }
  return oldest;
}

export function isAgeQuotaExceeded(
  quota: BacklogQuota | undefined,
  backlog: TopicBacklog,
  nowMs: number,
): boolean {
  if (quota === undefined || quota.limitTime < 0) return false;
  const oldest = oldestUnackedMs(backlog);
  return oldest !== undefined && nowMs - oldest > quota.limitTime * 1000;
}

/** Entries each too-large subscription must skip to get under the eviction target. */
export function planSizeEviction(limitBytes: number, subs: readonly SubscriptionBacklog[]): EvictionStep[] {
  const target = Math.floor(limitBytes * EVICTION_TARGET_FRACTION);
  const out: EvictionStep[] = [];
  for (const s of subs) {
    if (s.backlogBytes <= target || s.backlogEntries <= 0) continue;
    const avgEntry = s.backlogBytes / s.backlogEntries;
    const skip = Math.min(s.backlogEntries, Math.ceil((s.backlogBytes - target) / avgEntry));
    out.push({ subscription: s.name, skipEntries: skip });
  }
  return out;
}

export function planAgeEviction(limitSeconds: number, backlog: TopicBacklog, nowMs: number): EvictionStep[] {
  return backlog.subscriptions
    .filter(
      (s) =>
        s.oldestUnackedPublishTimeMs !== undefined &&
        nowMs - s.oldestUnackedPublishTimeMs > limitSeconds * 1000,
    )
    .map((s) => ({ subscription: s.name, expireOlderThanSeconds: limitSeconds }));
}

/** The broker's question: given the effective quotas and the topic's backlog now, what to do. */
export function decideBacklogQuota(
  quotas: Partial<Record<BacklogQuotaType, BacklogQuota>>,
  backlog: TopicBacklog,
  nowMs: number,
): QuotaDecision {
  const exceeded: BacklogQuotaType[] = [];
  let action: QuotaAction = 'none';
  const evictions: EvictionStep[] = [];
  const size = quotas.destination_storage;
  if (size && isSizeQuotaExceeded(size, backlog)) {
    exceeded.push('destination_storage');
    const a = actionOf(size);
    if (a === 'evict') evictions.push(...planSizeEviction(size.limitSize, backlog.subscriptions));
    if (SEVERITY[a] > SEVERITY[action]) action = a;
  }
  const age = quotas.message_age;
  if (age && isAgeQuotaExceeded(age, backlog, nowMs)) {
    exceeded.push('message_age');
    const a = actionOf(age);
    if (a === 'evict') evictions.push(...planAgeEviction(age.limitTime, backlog, nowMs));
    if (SEVERITY[a] > SEVERITY[action]) action = a;
  }
  // Evictions requested by one quota still run when another quota holds producers.
  return { action, exceeded, evictions };
}

/** True when a producer may be created / a send accepted under this decision. */
export function producersAllowed(decision: QuotaDecision): boolean {
  return decision.action === 'none' || decision.action === 'evict';
}
