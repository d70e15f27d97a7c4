import { describe, expect, it } from 'vitest';
import { MessageId } from '../message-id.ts';
import { StartFilter } from './start-filter.ts';

const at = (l: number, e: number, b = -1) => ({
  messageId: new MessageId(l, e, -1, b, b >= 0 ? 4 : 0),
  publishTime: 100,
});

describe('StartFilter (reader start positions)', () => {
  it('sends no start for durable subscriptions', () => {
    const f = new StartFilter(false, new MessageId(1, 1), true, 0);
    expect(f.wireStart()).toBeUndefined();
    expect(f.accepts(at(0, 0))).toBe(true);
  });

  it('exclusive plain start: sent as is, the broker starts after it', () => {
    const f = new StartFilter(true, new MessageId(3, 4), false, 0);
    expect(f.wireStart()?.toString()).toBe('3:4:-1');
    expect(f.accepts(at(3, 4))).toBe(false);
    expect(f.accepts(at(3, 5))).toBe(true);
  });

  it('inclusive plain start: sent as the entry (batch index 0) and kept', () => {
    const f = new StartFilter(true, new MessageId(3, 4), true, 0);
    expect(f.wireStart()?.toString()).toBe('3:4:-1:0');
    expect(f.accepts(at(3, 4))).toBe(true);
  });

  it('start inside a batch drops the earlier indexes (and the start itself unless inclusive)', () => {
    const ex = new StartFilter(true, new MessageId(3, 4, -1, 1), false, 0);
    expect(ex.wireStart()?.toString()).toBe('3:4:-1:1');
    expect([0, 1, 2, 3].map((i) => ex.accepts(at(3, 4, i)))).toEqual([false, false, true, true]);
    const inc = new StartFilter(true, new MessageId(3, 4, -1, 1), true, 0);
    expect([0, 1, 2].map((i) => inc.accepts(at(3, 4, i)))).toEqual([false, true, true]);
  });

  it('earliest and latest pass through', () => {
    expect(new StartFilter(true, MessageId.earliest, false, 0).wireStart()).toBe(MessageId.earliest);
    expect(new StartFilter(true, MessageId.latest, true, 0).wireStart()).toBe(MessageId.latest);
  });

  it('resumes after the last delivered message on reconnect', () => {
    const f = new StartFilter(true, MessageId.earliest, false, 0);
    f.delivered(new MessageId(5, 6));
    f.resumeAfterLastDelivered();
    expect(f.wireStart()?.toString()).toBe('5:6:-1');
    expect(f.accepts(at(5, 6))).toBe(false);
  });

  it('seek by time rolls back whole seconds and filters by publish time', () => {
    const f = new StartFilter(true, MessageId.latest, false, 0);
    f.seekTo(10_000, 12_500);
    expect(f.rollbackSec()).toBe(4);
    expect(f.accepts({ messageId: new MessageId(1, 1), publishTime: 9_999 })).toBe(false);
    expect(f.accepts({ messageId: new MessageId(1, 2), publishTime: 10_000 })).toBe(true);
  });
});
