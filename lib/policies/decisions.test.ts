import { describe, expect, it } from 'vitest';
import { decideBacklogQuota, producersAllowed } from './backlog-quota.ts';
import { builtinPolicyDefaults, emptyPolicies } from './defaults.ts';
import {
  decideAutoTopicCreation,
  isMessageExpired,
  isSubscriptionExpired,
  ledgersToTrim,
} from './lifecycle.ts';
import { parseTopicName } from './names.ts';
import {
  grantNamespacePermission,
  grantSubscriptionRoles,
  grantTopicPermission,
  hasTopicAction,
  revokeTopicPermission,
  subscriptionAllowed,
  topicPermissions,
} from './permissions.ts';
import { RateLimiter } from './rate-limiter.ts';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('backlog quota decisions', () => {
  const now = 1_000_000;
  const backlog = {
    backlogBytes: 2000,
    subscriptions: [
      { name: 'slow', backlogBytes: 2000, backlogEntries: 20, oldestUnackedPublishTimeMs: now - 600_000 },
      { name: 'fast', backlogBytes: 100, backlogEntries: 1, oldestUnackedPublishTimeMs: now - 1000 },
    ],
  };
  it('does nothing under the quota', () => {
    const d = decideBacklogQuota(
      { destination_storage: { limitSize: 5000, limitTime: -1, policy: 'producer_exception' } },
      backlog,
      now,
    );
    expect(d.action).toBe('none');
    expect(producersAllowed(d)).toBe(true);
  });
  it('maps each policy to its action', () => {
    const q = (policy: 'producer_request_hold' | 'producer_exception' | 'consumer_backlog_eviction') => ({
      destination_storage: { limitSize: 1000, limitTime: -1, policy },
    });
    expect(decideBacklogQuota(q('producer_request_hold'), backlog, now).action).toBe('hold');
    expect(decideBacklogQuota(q('producer_exception'), backlog, now).action).toBe('reject');
    const evict = decideBacklogQuota(q('consumer_backlog_eviction'), backlog, now);
    expect(evict.action).toBe('evict');
    expect(producersAllowed(evict)).toBe(true);
    // 2000 bytes over 20 entries = 100 B/entry; target 900 bytes → skip 11 entries of "slow" only.
    expect(evict.evictions).toEqual([{ subscription: 'slow', skipEntries: 11 }]);
  });
  it('evaluates the age quota and lets the stricter action win', () => {
    const d = decideBacklogQuota(
      {
        destination_storage: { limitSize: 1000, limitTime: -1, policy: 'consumer_backlog_eviction' },
        message_age: { limitSize: -1, limitTime: 60, policy: 'producer_request_hold' },
      },
      backlog,
      now,
    );
    expect(d.exceeded).toEqual(['destination_storage', 'message_age']);
    expect(d.action).toBe('hold');
    expect(d.evictions).toEqual([{ subscription: 'slow', skipEntries: 11 }]);
    const age = decideBacklogQuota(
      { message_age: { limitSize: -1, limitTime: 60, policy: 'consumer_backlog_eviction' } },
      backlog,
      now,
    );
    expect(age.evictions).toEqual([{ subscription: 'slow', expireOlderThanSeconds: 60 }]);
  });
});

describe('retention, TTL, subscription expiry, auto creation', () => {
  const MB = 1024 * 1024;
  const now = 10 * 3_600_000;
  const ledgers = [
    { ledgerId: 1, sizeBytes: 4 * MB, closedAtMs: now - 3 * 3_600_000 },
    { ledgerId: 2, sizeBytes: 4 * MB, closedAtMs: now - 2 * 3_600_000 },
    { ledgerId: 3, sizeBytes: 4 * MB, closedAtMs: now - 600_000 },
  ];
  it('trims consumed ledgers past retention time or size, oldest first', () => {
    expect(
      ledgersToTrim({ retentionTimeInMinutes: -1, retentionSizeInMB: -1 }, ledgers, 16 * MB, now),
    ).toEqual([]);
    expect(ledgersToTrim({ retentionTimeInMinutes: 0, retentionSizeInMB: 0 }, ledgers, 16 * MB, now)).toEqual(
      [1, 2, 3],
    );
    expect(
      ledgersToTrim({ retentionTimeInMinutes: 90, retentionSizeInMB: -1 }, ledgers, 16 * MB, now),
    ).toEqual([1, 2]);
    // 16 MB kept in total; 9 MB allowed: dropping ledger 1 leaves 12, dropping 2 leaves 8.
    expect(
      ledgersToTrim({ retentionTimeInMinutes: -1, retentionSizeInMB: 9 }, ledgers, 16 * MB, now),
    ).toEqual([1, 2]);
    expect(
      ledgersToTrim({ retentionTimeInMinutes: 600, retentionSizeInMB: 100 }, ledgers, 16 * MB, now),
    ).toEqual([]);
  });
  it('expires messages and subscriptions', () => {
    expect(isMessageExpired(now - 61_000, 60, now)).toBe(true);
    expect(isMessageExpired(now - 59_000, 60, now)).toBe(false);
    expect(isMessageExpired(0, 0, now)).toBe(false);
    expect(isSubscriptionExpired(10, now - 11 * 60_000, false, now)).toBe(true);
    expect(isSubscriptionExpired(10, now - 11 * 60_000, true, now)).toBe(false);
    expect(isSubscriptionExpired(0, 0, false, now)).toBe(false);
  });
  it('decides auto topic creation from namespace override then broker default', () => {
    const d = builtinPolicyDefaults();
    const t = parseTopicName('a/b/c');
    expect(decideAutoTopicCreation(t, undefined, d)).toEqual({ create: true, partitions: 0 });
    expect(decideAutoTopicCreation(t, undefined, { ...d, allowAutoTopicCreation: false })).toEqual({
      create: false,
    });
    const part = { allowAutoTopicCreation: true, topicType: 'partitioned' as const, defaultNumPartitions: 4 };
    expect(decideAutoTopicCreation(t, part, d)).toEqual({ create: true, partitions: 4 });
    expect(decideAutoTopicCreation(parseTopicName('a/b/c-partition-2'), part, d)).toEqual({
      create: true,
      partitions: 0,
    });
    expect(decideAutoTopicCreation(t, { allowAutoTopicCreation: false }, d)).toEqual({ create: false });
  });
});

describe('rate limiter', () => {
  it('lets a period worth through then throttles until refilled', () => {
    let now = 0;
    const rl = new RateLimiter({ msgs: 10, bytes: -1, periodMs: 1000 }, () => now);
    expect(rl.tryAcquire(10, 5000)).toBe(true);
    expect(rl.tryAcquire(1, 1)).toBe(false);
    now = 100;
    expect(rl.permits().msgs).toBe(1);
    expect(rl.permits().bytes).toBe(Number.POSITIVE_INFINITY);
    rl.record(5, 0); // publish accounting may run into debt
    expect(rl.isThrottled()).toBe(true);
    expect(rl.msUntilUnthrottled()).toBe(500);
    now = 600;
    expect(rl.isThrottled()).toBe(false);
  });
  it('limits bytes independently and is off when rates are <= 0', () => {
    let now = 0;
    const rl = new RateLimiter({ msgs: -1, bytes: 100, periodMs: 1000 }, () => now);
    expect(rl.tryAcquire(1000, 100)).toBe(true);
    expect(rl.tryAcquire(1, 1)).toBe(false);
    now = 2000;
    expect(rl.permits().bytes).toBe(100); // never more than one period's worth
    const off = new RateLimiter({ msgs: 0, bytes: -1, periodMs: 1000 });
    expect(off.enabled).toBe(false);
    expect(off.tryAcquire(1e9, 1e9)).toBe(true);
    off.update({ msgs: 1, bytes: 0, periodMs: 1000 });
    expect(off.enabled).toBe(true);
  });
});

describe('permissions', () => {
  const ns = { tenant: 'a', namespace: 'b' };
  const topic = parseTopicName('a/b/t');
  it('merges namespace, parent and topic grants', () => {
    const p = emptyPolicies(1);
    grantNamespacePermission(p, 'r1', ['consume']);
    grantTopicPermission(p, topic, 'r2', ['produce']);
    expect(hasTopicAction(p, topic, ['r1'], 'consume')).toBe(true);
    expect(hasTopicAction(p, topic, ['r1'], 'produce')).toBe(false);
    expect(hasTopicAction(p, parseTopicName('a/b/t-partition-1'), ['r2'], 'produce')).toBe(true);
    expect(hasTopicAction(p, parseTopicName('a/b/other'), ['r2'], 'produce')).toBe(false);
    expect(topicPermissions(p, topic)).toEqual({ r1: ['consume'], r2: ['produce'] });
  });
  it('refuses to revoke at topic level a namespace-only grant', () => {
    const p = emptyPolicies(1);
    grantNamespacePermission(p, 'r1', ['consume']);
    expect(code(() => revokeTopicPermission(p, ns, topic, 'r1'))).toBe('PERMISSION_ONLY_ON_NAMESPACE');
    expect(code(() => revokeTopicPermission(p, ns, topic, 'nobody'))).toBe('PERMISSION_NOT_FOUND');
    grantTopicPermission(p, topic, 'r1', ['produce']);
    revokeTopicPermission(p, ns, topic, 'r1');
    expect(p.auth_policies.destination_auth).toEqual({});
  });
  it('restricts subscriptions to their listed roles and to the prefix mode', () => {
    const p = emptyPolicies(1);
    expect(subscriptionAllowed(p, 'sub', 'r1')).toBe(true);
    grantSubscriptionRoles(p, 'sub', ['r2']);
    expect(subscriptionAllowed(p, 'sub', 'r1')).toBe(false);
    expect(subscriptionAllowed(p, 'sub', 'r2')).toBe(true);
    p.subscription_auth_mode = 'Prefix';
    expect(subscriptionAllowed(p, 'r1-sub', 'r1')).toBe(true);
    expect(subscriptionAllowed(p, 'x-sub', 'r1')).toBe(false);
  });
});
