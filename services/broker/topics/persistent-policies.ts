/**
 * Periodic policy work on a persistent topic, driven by lib/policies' pure decisions:
 *  - message TTL: every subscription's mark-delete moves past the messages published before
 *    now − TTL (`isMessageExpired`), found by binary search from the mark-delete position;
 *  - subscription expiration: durable subscriptions without consumers for longer than the policy
 *    (`isSubscriptionExpired`) are deleted;
 *  - the backlog figures and evictions the BacklogGuard asks for.
 */
import type { EvictionStep } from '../../../lib/policies/backlog-quota.ts';
import { isSubscriptionExpired, ttlCutoffMs } from '../../../lib/policies/lifecycle.ts';
import type { PersistentSubscription } from '../subscriptions/persistent-subscription.ts';
import type { BacklogSource } from './backlog-guard.ts';
import { factsOf } from './entries.ts';
import type { PersistentTopic } from './persistent-topic.ts';

/** Move `sub` past every message published before `cutoffMs`; returns true when it moved. */
export async function expireOlderThan(sub: PersistentSubscription, cutoffMs: number): Promise<boolean> {
  if (sub.cursor.getNumberOfEntriesInBacklog() === 0) return false;
  const newest = await sub.cursor.findNewestMatching((e) => {
    const t = factsOf(e.data)?.publishTimeMs;
    // An entry without a readable publish time never counts as expired (keeps the prefix rule).
    return t !== undefined && t < cutoffMs;
  });
  if (!newest) return false;
  await sub.moveMarkDelete((c) => c.markDelete(newest));
  sub.lastExpireTimestamp = Date.now();
  return true;
}

/** Message TTL: expire on every durable subscription (readers are not expired, as in Pulsar). */
export async function expireByTtl(topic: PersistentTopic, nowMs: number): Promise<number> {
  // A message is expired when published before the cutoff (lib/policies isMessageExpired).
  const cutoff = ttlCutoffMs(topic.policies.messageTtlSeconds, nowMs);
  if (cutoff === undefined) return 0;
  let moved = 0;
  for (const sub of [...topic.subscriptions.values()]) {
    if (!sub.cursor.durable) continue;
    try {
      if (await expireOlderThan(sub, cutoff)) moved++;
    } catch (err) {
      topic.log.warn({ err, topic: topic.name.full, subscription: sub.name }, 'message expiry failed');
    }
  }
  return moved;
}

/** Subscription expiration: delete durable subscriptions idle past the policy. */
export async function expireIdleSubscriptions(topic: PersistentTopic, nowMs: number): Promise<string[]> {
  const minutes = topic.policies.subscriptionExpirationTimeMinutes;
  if (minutes <= 0) return [];
  const gone: string[] = [];
  for (const sub of [...topic.subscriptions.values()]) {
    if (!sub.cursor.durable) continue;
    if (!isSubscriptionExpired(minutes, sub.lastActiveMs, sub.consumerCount > 0, nowMs)) continue;
    try {
      await topic.removeSubscription(sub);
      gone.push(sub.name);
    } catch (err) {
      topic.log.warn({ err, topic: topic.name.full, subscription: sub.name }, 'subscription expiry failed');
    }
  }
  if (gone.length > 0)
    topic.log.info({ topic: topic.name.full, subscriptions: gone }, 'expired subscriptions');
  return gone;
}

/** What the BacklogGuard reads from and does to a persistent topic. */
export function backlogSourceOf(topic: PersistentTopic): BacklogSource {
  return {
    topic: topic.name.full,
    log: topic.log,
    subscriptionBacklogs: () =>
      [...topic.subscriptions.values()]
        .filter((s) => s.cursor.durable)
        .map((s) => ({
          name: s.name,
          backlogBytes: s.cursor.getEstimatedBacklogSizeBytes(),
          backlogEntries: s.cursor.getNumberOfEntriesInBacklog(),
        })),
    oldestUnackedPublishTime: async (name) => {
      const sub = topic.subscriptions.get(name);
      if (!sub || sub.cursor.getNumberOfEntriesInBacklog() === 0) return undefined;
      const [entry] = await topic.ml.readEntries(topic.ml.nextPosition(sub.cursor.markDeletePosition), {
        maxEntries: 1,
      });
      return entry ? factsOf(entry.data)?.publishTimeMs : undefined;
    },
    evict: (steps, nowMs) => evict(topic, steps, nowMs),
  };
}

async function evict(topic: PersistentTopic, steps: readonly EvictionStep[], nowMs: number): Promise<void> {
  for (const step of steps) {
    const sub = topic.subscriptions.get(step.subscription);
    if (!sub) continue;
    if (step.skipEntries !== undefined && step.skipEntries > 0) {
      const n = step.skipEntries;
      await sub.moveMarkDelete((c) => c.skipEntries(n));
    }
    if (step.expireOlderThanSeconds !== undefined) {
      await expireOlderThan(sub, nowMs - step.expireOlderThanSeconds * 1000);
    }
    topic.log.info({ topic: topic.name.full, ...step }, 'backlog quota eviction');
  }
}
