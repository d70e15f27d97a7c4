import { describe, expect, it } from 'vitest';
import { CursorCore, PersistRateLimiter } from './cursor-state.ts';
import { LedgerList } from './ledger-list.ts';

const p = (ledgerId: number, entryId: number) => ({ ledgerId, entryId });
// Ledgers 1 (5 entries), 2 (3 entries), 3 (current, 4 entries so far).
const makeList = () =>
  new LedgerList([
    { ledgerId: 1, entries: 5, sizeBytes: 50, timestampMs: 0 },
    { ledgerId: 2, entries: 3, sizeBytes: 300, timestampMs: 0 },
    { ledgerId: 3, entries: 4, sizeBytes: 40, timestampMs: 0 },
  ]);

describe('CursorCore', () => {
  it('starts after its mark-delete position and counts the backlog', () => {
    const c = new CursorCore(makeList(), p(1, -1));
    expect(c.readPosition).toEqual(p(1, 0));
    expect(c.backlogEntries()).toBe(12);
    expect(c.backlogBytes()).toBe(390);
    expect(c.hasMoreEntries()).toBe(true);
    const latest = new CursorCore(makeList(), p(3, 3));
    expect(latest.backlogEntries()).toBe(0);
    expect(latest.hasMoreEntries()).toBe(false);
    expect(latest.readPosition).toEqual(p(3, 4));
  });

  it('individual acks leave holes; the mark-delete moves over a contiguous prefix, across ledgers', () => {
    const c = new CursorCore(makeList(), p(1, -1));
    c.delete([p(1, 1), p(1, 2), p(1, 4), p(2, 0)]);
    expect(c.markDeletePosition).toEqual(p(1, -1));
    expect(c.backlogEntries()).toBe(8);
    expect(c.individuallyDeletedRanges()).toEqual([
      { from: p(1, 1), to: p(1, 2) },
      { from: p(1, 4), to: p(1, 4) },
      { from: p(2, 0), to: p(2, 0) },
    ]);
    c.delete([p(1, 0)]);
    expect(c.markDeletePosition).toEqual(p(1, 2));
    c.delete([p(1, 3)]);
    // 1:3 fills the hole; 1:4 ends ledger 1 and 2:0 follows it in the topic.
    expect(c.markDeletePosition).toEqual(p(2, 0));
    expect(c.individuallyDeletedRanges()).toEqual([]);
    expect(c.backlogEntries()).toBe(6);
    expect(c.readPosition).toEqual(p(2, 1));
  });

  it('ignores acks of unknown or already acknowledged positions', () => {
    const c = new CursorCore(makeList(), p(1, 2));
    const v = c.version;
    expect(c.delete([p(1, 1), p(9, 0), p(2, 7), p(3, 4)])).toBe(0);
    expect(c.version).toBe(v);
    expect(c.markDelete(p(1, 0))).toBe(false);
  });

  it('batch-index acks delete the entry once complete', () => {
    const c = new CursorCore(makeList(), p(1, -1));
    expect(c.deleteBatchIndexes(p(1, 1), 3, [0, 2])).toBe(true);
    expect(c.batchAcks.ackedIndexes(p(1, 1))).toEqual([0, 2]);
    expect(c.isAcknowledged(p(1, 1))).toBe(false);
    c.deleteBatchIndexes(p(1, 1), 3, [1]);
    expect(c.isAcknowledged(p(1, 1))).toBe(true);
    expect(c.batchAcks.size).toBe(0);
    c.deleteBatchIndexes(p(1, 3), 2, [1]);
    c.markDelete(p(1, 3));
    expect(c.batchAcks.size).toBe(0);
  });

  it('reads skip acknowledged entries; seek and rewind never go below the mark-delete', () => {
    const c = new CursorCore(makeList(), p(1, -1));
    c.delete([p(1, 0), p(1, 1)]);
    expect(c.readPosition).toEqual(p(1, 2));
    c.delete([p(1, 3)]);
    c.advanceReadPosition(p(1, 2));
    expect(c.readPosition).toEqual(p(1, 4));
    expect(c.entriesToRead()).toBe(8);
    c.seek(p(1, 0));
    expect(c.readPosition).toEqual(p(1, 2));
    c.advanceReadPosition(p(2, 2));
    expect(c.readPosition).toEqual(p(3, 0));
    c.rewind();
    expect(c.readPosition).toEqual(p(1, 2));
  });

  it('reset, skip and clear backlog', () => {
    const c = new CursorCore(makeList(), p(1, -1));
    c.delete([p(1, 2), p(2, 1)]);
    expect(c.skip(3)).toBe(3); // 1:0, 1:1, (1:2 acked), 1:3
    expect(c.markDeletePosition).toEqual(p(1, 3));
    expect(c.skip(2)).toBe(2); // 1:4, 2:0 and then 2:1 is already acked
    expect(c.markDeletePosition).toEqual(p(2, 1));
    expect(c.skip(100)).toBe(5);
    expect(c.backlogEntries()).toBe(0);
    c.reset(p(2, 1));
    expect(c.markDeletePosition).toEqual(p(2, 0));
    expect(c.readPosition).toEqual(p(2, 1));
    expect(c.backlogEntries()).toBe(6);
    c.reset(p(9, 9));
    expect(c.backlogEntries()).toBe(0);
    c.reset(p(1, 0));
    expect(c.clearBacklog()).toBe(true);
    expect(c.markDeletePosition).toEqual(p(3, 3));
  });

  it('snapshots are bounded and restore exactly', () => {
    const list = makeList();
    const c = new CursorCore(list, p(1, -1));
    c.delete([p(1, 1), p(1, 3), p(2, 0), p(3, 2)]);
    c.deleteBatchIndexes(p(2, 2), 4, [1, 3]);
    c.markDelete(p(1, 0), { 'producer-a': 41n });
    const full = c.snapshot(100, 100);
    expect(full.truncated).toBe(false);
    expect(full.markDelete).toEqual(p(1, 1));
    const r = new CursorCore(list, p(1, -1));
    r.restore(full);
    expect(r.markDeletePosition).toEqual(p(1, 1));
    expect(r.individuallyDeletedRanges()).toEqual(c.individuallyDeletedRanges());
    expect(r.batchAcks.ackedIndexes(p(2, 2))).toEqual([1, 3]);
    expect(r.properties).toEqual({ 'producer-a': 41n });
    expect(r.backlogEntries()).toBe(c.backlogEntries());
    const small = c.snapshot(1, 0);
    expect(small.truncated).toBe(true);
    expect(small.ranges).toHaveLength(1);
  });

  it('drops state of trimmed ledgers', () => {
    const list = makeList();
    const c = new CursorCore(list, p(1, -1));
    c.delete([p(1, 3), p(2, 1)]);
    const trimmed = new LedgerList(list.records.filter((r) => r.ledgerId >= 2));
    c.setLedgerList(trimmed);
    c.onLedgersTrimmed(2);
    expect(c.markDeletePosition).toEqual(p(2, -1));
    expect(c.readPosition).toEqual(p(2, 0));
    expect(c.individuallyDeletedRanges()).toEqual([{ from: p(2, 1), to: p(2, 1) }]);
    expect(c.backlogEntries()).toBe(6);
  });
});

describe('PersistRateLimiter', () => {
  it('writes dirty state at most once per interval and one at a time', () => {
    const r = new PersistRateLimiter(1000);
    expect(r.delayUntilFlush(0, 0)).toBeUndefined();
    expect(r.delayUntilFlush(1, 0)).toBe(0);
    r.begin(0);
    expect(r.delayUntilFlush(2, 10)).toBeUndefined(); // one in flight
    r.end(true, 1);
    expect(r.isDirty(1)).toBe(false);
    expect(r.delayUntilFlush(2, 300)).toBe(700);
    r.begin(1000);
    r.end(false, 2);
    expect(r.isDirty(2)).toBe(true);
    expect(r.delayUntilFlush(2, 1500)).toBe(500);
    r.markPersisted(2);
    expect(r.delayUntilFlush(2, 5000)).toBeUndefined();
  });
});
