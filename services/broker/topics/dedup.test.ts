import { describe, expect, it } from 'vitest';
import { DedupState } from './dedup.ts';

describe('DedupState', () => {
  it('accepts new sequence ids, answers duplicates and unknowns', () => {
    const d = new DedupState(10, 60_000);
    expect(d.check('p', 0, 0, 0)).toBe('accept');
    expect(d.check('p', 0, 0, 0)).toBe('unknown'); // pushed, not yet persisted
    d.persistedOk('p', 0);
    expect(d.check('p', 0, 0, 0)).toBe('duplicate');
    expect(d.check('p', 1, 5, 0)).toBe('accept'); // a batch 1..5
    expect(d.check('p', 3, 3, 0)).toBe('unknown');
    d.persistedOk('p', 5);
    expect(d.check('p', 3, 3, 0)).toBe('duplicate');
    expect(d.lastPersisted('p')).toBe(5);
    expect(d.lastPersisted('other')).toBe(-1);
  });

  it('lets a resend through after a failed write', () => {
    const d = new DedupState(10, 60_000);
    d.check('p', 0, 0, 0);
    d.persistedOk('p', 0);
    expect(d.check('p', 1, 1, 0)).toBe('accept');
    d.persistFailed('p');
    expect(d.check('p', 1, 1, 0)).toBe('accept');
  });

  it('restores from a snapshot plus replayed entries', () => {
    const d = new DedupState(10, 60_000);
    d.check('a', 0, 7, 0);
    d.persistedOk('a', 7);
    const snap = d.snapshot();
    const r = new DedupState(10, 60_000);
    r.restore(snap, 0);
    r.recordStored('a', 9, 0);
    r.recordStored('b', 2, 0);
    expect(r.check('a', 9, 9, 0)).toBe('duplicate');
    expect(r.check('a', 10, 10, 0)).toBe('accept');
    expect(r.check('b', 1, 1, 0)).toBe('duplicate');
  });

  it('is bounded by producer count and inactivity', () => {
    const d = new DedupState(2, 1_000);
    d.recordStored('a', 1, 0);
    d.recordStored('b', 1, 10);
    d.recordStored('c', 1, 20);
    expect(d.producerCount).toBe(2);
    expect(d.lastPersisted('a')).toBe(-1);
    expect(d.purge(1_015)).toBe(1);
    expect(d.lastPersisted('b')).toBe(-1);
    expect(d.lastPersisted('c')).toBe(1);
  });
});
