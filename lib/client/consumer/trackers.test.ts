import { describe, expect, it } from 'vitest';
import { ackSetToUnacked } from '../../wire/message-id.ts';
import { MessageId } from '../message-id.ts';
import { AckTimeoutTracker } from './ack-timeout.ts';
import { AckTracker } from './ack-tracker.ts';
import { FlowControl } from './flow.ts';
import { NackTracker } from './nack-tracker.ts';

describe('FlowControl', () => {
  it('grants the queue size first, then refills at half', () => {
    const f = new FlowControl(4);
    expect(f.initial()).toBe(4);
    expect(f.consumed()).toBe(0);
    expect(f.consumed()).toBe(2);
    expect(f.consumed()).toBe(0);
    expect(f.consumed(3)).toBe(4);
    expect(f.initial()).toBe(4);
    expect(f.consumed()).toBe(0);
  });

  it('refills every message for a queue of one', () => {
    const f = new FlowControl(1);
    f.initial();
    expect(f.consumed()).toBe(1);
    expect(f.consumed()).toBe(1);
  });
});

describe('AckTracker', () => {
  it('groups individual acks and reports the group full at maxAckGroupSize', () => {
    const t = new AckTracker(false, 3);
    expect(t.ackIndividual(new MessageId(1, 1))).toBe(true);
    t.ackIndividual(new MessageId(1, 2));
    t.ackIndividual(new MessageId(1, 2)); // repeated ack of the same entry counts once
    expect(t.shouldFlush).toBe(false);
    t.ackIndividual(new MessageId(1, 3));
    expect(t.shouldFlush).toBe(true);
    const f = t.flush();
    expect(f.individual.map((p) => p.entryId)).toEqual([1, 2, 3]);
    expect(f.cumulative).toBeUndefined();
    expect(t.pendingCount).toBe(0);
  });

  it('acks a batch entry only once every message of it is acked (batch-index acks off)', () => {
    const t = new AckTracker(false, 100);
    t.onBatchReceived({ ledgerId: 2, entryId: 9 }, 3);
    expect(t.ackIndividual(new MessageId(2, 9, -1, 0, 3))).toBe(false);
    expect(t.ackIndividual(new MessageId(2, 9, -1, 2, 3))).toBe(false);
    expect(t.pendingCount).toBe(0);
    expect(t.ackIndividual(new MessageId(2, 9, -1, 1, 3))).toBe(true);
    expect(t.flush().individual).toEqual([{ ledgerId: 2, entryId: 9 }]);
  });

  it('sends the still-unacked index set when batch-index acks are on', () => {
    const t = new AckTracker(true, 100);
    t.onBatchReceived({ ledgerId: 2, entryId: 9 }, 3);
    t.ackIndividual(new MessageId(2, 9, -1, 1, 3));
    const [pos] = t.flush().individual;
    expect(pos.batchSize).toBe(3);
    expect(ackSetToUnacked(pos.ackSet!, 3)).toEqual([true, false, true]);
  });

  it('counts indexes the broker already marked acked', () => {
    const t = new AckTracker(false, 100);
    t.onBatchReceived({ ledgerId: 1, entryId: 1 }, 3, [true, false, true]);
    expect(t.ackIndividual(new MessageId(1, 1, -1, 1, 3))).toBe(true);
  });

  it('cumulative acks keep the highest position; a batch middle acks the previous entry', () => {
    const t = new AckTracker(false, 100);
    t.ackCumulative(new MessageId(3, 5));
    t.ackCumulative(new MessageId(3, 4));
    expect(t.flush().cumulative).toEqual({ ledgerId: 3, entryId: 5 });
    t.onBatchReceived({ ledgerId: 3, entryId: 8 }, 4);
    t.ackCumulative(new MessageId(3, 8, -1, 1, 4));
    expect(t.flush().cumulative).toEqual({ ledgerId: 3, entryId: 7 });
    t.ackCumulative(new MessageId(3, 8, -1, 3, 4));
    expect(t.flush().cumulative).toEqual({ ledgerId: 3, entryId: 8 });
  });

  it('cumulative ack inside a batch carries an ack set when batch-index acks are on', () => {
    const t = new AckTracker(true, 100);
    t.onBatchReceived({ ledgerId: 3, entryId: 8 }, 4);
    t.ackCumulative(new MessageId(3, 8, -1, 1, 4));
    const c = t.flush().cumulative!;
    expect(c.entryId).toBe(8);
    expect(ackSetToUnacked(c.ackSet!, 4)).toEqual([false, false, true, true]);
  });
});

describe('NackTracker', () => {
  it('releases entries after the delay, whole entries, once each', () => {
    const n = new NackTracker(1000);
    n.add(new MessageId(1, 1, -1, 2, 5), 0);
    n.add(new MessageId(1, 1, -1, 3, 5), 10);
    n.add(new MessageId(1, 2), 500);
    expect(n.size).toBe(2);
    expect(n.nextDueMs()).toBe(1000);
    expect(n.takeDue(999)).toEqual([]);
    expect(n.takeDue(1000).map((id) => id.toString())).toEqual(['1:1:-1']);
    n.remove(new MessageId(1, 2));
    expect(n.takeDue(5000)).toEqual([]);
  });
});

describe('AckTimeoutTracker', () => {
  it('expires an entry after ceil(timeout/tick)+1 ticks unless it is removed', () => {
    const t = new AckTimeoutTracker(3000, 1000);
    t.add(new MessageId(1, 1));
    t.add(new MessageId(1, 2));
    t.remove({ ledgerId: 1, entryId: 2 });
    expect(t.tick()).toEqual([]);
    t.add(new MessageId(1, 3));
    expect(t.tick()).toEqual([]);
    expect(t.tick()).toEqual([]);
    expect(t.tick().map((id) => id.entryId)).toEqual([1]);
    expect(t.tick().map((id) => id.entryId)).toEqual([3]);
    expect(t.size).toBe(0);
  });
});
