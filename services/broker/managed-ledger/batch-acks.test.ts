import { describe, expect, it } from 'vitest';
import { BatchAckSet } from './batch-acks.ts';

const p = (ledgerId: number, entryId: number) => ({ ledgerId, entryId });

describe('BatchAckSet', () => {
  it('tracks acked indexes until the whole batch is acked', () => {
    const s = new BatchAckSet();
    expect(s.ack(p(1, 1), 40, [0, 33])).toBe('partial');
    expect(s.ackedIndexes(p(1, 1))).toEqual([0, 33]);
    expect(s.ack(p(1, 1), 40, [33])).toBe('unchanged');
    expect(s.ack(p(1, 1), 40, [-1, 40, 2.5])).toBe('unchanged');
    const rest = Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 0 && i !== 33);
    expect(s.ack(p(1, 1), 40, rest)).toBe('complete');
    expect(s.get(p(1, 1))).toBeUndefined();
    expect(s.size).toBe(0);
  });

  it('restores from words, masking bits beyond the batch size', () => {
    const s = new BatchAckSet();
    s.restore(p(2, 3), 5, [0b1111_1010]);
    expect(s.ackedIndexes(p(2, 3))).toEqual([1, 3, 4]);
    expect(s.get(p(2, 3))?.ackedCount).toBe(3);
    // A fully acked or empty word set is not kept.
    s.restore(p(2, 4), 2, [0b11]);
    s.restore(p(2, 5), 2, [0]);
    expect(s.size).toBe(1);
  });

  it('drops entries at or before a position and sorts by position', () => {
    const s = new BatchAckSet();
    s.ack(p(3, 1), 4, [1]);
    s.ack(p(1, 9), 4, [1]);
    s.ack(p(2, 0), 4, [1]);
    expect(s.sorted().map((e) => e.position)).toEqual([p(1, 9), p(2, 0), p(3, 1)]);
    expect(s.sorted(2)).toHaveLength(2);
    s.removeAtOrBefore(p(2, 0));
    expect(s.sorted().map((e) => e.position)).toEqual([p(3, 1)]);
  });
});
