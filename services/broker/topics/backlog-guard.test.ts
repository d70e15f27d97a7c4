import { describe, expect, it } from 'vitest';
import type { EvictionStep } from '../../../lib/policies/backlog-quota.ts';
import { silentLogger } from '../../../lib/log/index.ts';
import { BacklogGuard, type BacklogSource } from './backlog-guard.ts';

/** A topic with one subscription whose backlog the test sets. */
function fakeSource() {
  const state = {
    bytes: 0,
    entries: 0,
    oldest: undefined as number | undefined,
    evictions: [] as EvictionStep[][],
  };
  const source: BacklogSource = {
    topic: 'persistent://t/n/x',
    log: silentLogger('test'),
    subscriptionBacklogs: () => [{ name: 's', backlogBytes: state.bytes, backlogEntries: state.entries }],
    oldestUnackedPublishTime: async () => state.oldest,
    evict: async (steps) => {
      state.evictions.push([...steps]);
      state.bytes = 0;
      state.entries = 0;
    },
  };
  return { state, guard: new BacklogGuard(source) };
}

const size = (policy: 'producer_request_hold' | 'producer_exception' | 'consumer_backlog_eviction') => ({
  destination_storage: { limitSize: 100, limitTime: -1, policy },
});

describe('BacklogGuard', () => {
  it('hold: sends wait in arrival order and go when the backlog falls; new producers are refused', async () => {
    const { state, guard } = fakeSource();
    guard.setQuotas(size('producer_request_hold'), 0);
    expect(guard.beforePublish()).toBeUndefined();
    state.bytes = 150;
    state.entries = 3;
    guard.evaluate(1);
    expect(guard.action).toBe('hold');
    expect(() => guard.admitProducer(1)).toThrow(expect.objectContaining({ code: 'BACKLOG_QUOTA_HOLD' }));
    const order: number[] = [];
    const a = guard.beforePublish()!.then(() => order.push(1));
    const b = guard.beforePublish()!.then(() => order.push(2));
    expect(guard.heldCount).toBe(2);
    state.bytes = 50;
    guard.evaluate(2);
    await Promise.all([a, b]);
    expect(order).toEqual([1, 2]);
    expect(guard.beforePublish()).toBeUndefined();
  });

  it('exception: sends and producers are refused while over the quota', () => {
    const { state, guard } = fakeSource();
    guard.setQuotas(size('producer_exception'), 0);
    state.bytes = 101;
    state.entries = 1;
    guard.evaluate(1);
    expect(() => guard.beforePublish()).toThrow(expect.objectContaining({ code: 'BACKLOG_QUOTA_EXCEEDED' }));
    expect(() => guard.admitProducer(1)).toThrow(expect.objectContaining({ code: 'BACKLOG_QUOTA_EXCEEDED' }));
    guard.setQuotas({}, 2);
    expect(guard.action).toBe('none');
    expect(guard.beforePublish()).toBeUndefined();
  });

  it('eviction: producers go on, the subscription is moved once per decision', async () => {
    const { state, guard } = fakeSource();
    guard.setQuotas(size('consumer_backlog_eviction'), 0);
    state.bytes = 1000;
    state.entries = 10;
    guard.evaluate(1);
    guard.evaluate(1); // an eviction in flight is not started twice
    expect(guard.beforePublish()).toBeUndefined();
    await guard.checkAll(2);
    expect(state.evictions).toHaveLength(1);
    expect(state.evictions[0][0]).toMatchObject({ subscription: 's' });
    expect(state.evictions[0][0].skipEntries).toBeGreaterThan(0);
  });

  it('age quota: decided from the oldest unacked message the periodic check read', async () => {
    const { state, guard } = fakeSource();
    guard.setQuotas({ message_age: { limitSize: -1, limitTime: 10, policy: 'producer_exception' } }, 0);
    state.bytes = 10;
    state.entries = 1;
    state.oldest = 1_000;
    guard.evaluate(60_000);
    expect(guard.action).toBe('none'); // not read yet: the cheap check has no age figure
    await guard.checkAll(60_000);
    expect(guard.action).toBe('reject');
    state.entries = 0; // consumed: no backlog, no age
    guard.evaluate(60_001);
    expect(guard.action).toBe('none');
  });

  it('close fails held sends', async () => {
    const { state, guard } = fakeSource();
    guard.setQuotas(size('producer_request_hold'), 0);
    state.bytes = 500;
    state.entries = 5;
    guard.evaluate(1);
    const held = guard.beforePublish()!;
    guard.close(new Error('closed'));
    await expect(held).rejects.toThrow('closed');
  });
});
