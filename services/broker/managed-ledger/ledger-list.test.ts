import { describe, expect, it } from 'vitest';
import type { ManagedLedgerConfig } from './api.ts';
import { LedgerList, rolloverDeadline, rolloverDecision, selectLedgersToTrim } from './ledger-list.ts';

const p = (ledgerId: number, entryId: number) => ({ ledgerId, entryId });
const rec = (ledgerId: number, entries: number, sizeBytes = entries * 10, timestampMs = 0) => ({
  ledgerId,
  entries,
  sizeBytes,
  timestampMs,
});

const config: ManagedLedgerConfig = {
  ensembleSize: 1,
  writeQuorum: 1,
  ackQuorum: 1,
  maxEntriesPerLedger: 100,
  maxSizePerLedgerBytes: 1000,
  minLedgerRolloverTimeMs: 50,
  maxLedgerRolloverTimeMs: 1000,
  retentionTimeMs: 0,
  retentionSizeBytes: 0,
};

describe('LedgerList positions', () => {
  const list = new LedgerList([rec(3, 5), rec(4, 0), rec(7, 3), rec(9, 2)]);

  it('normalizes positions past a ledger end, in removed ledgers or before the first', () => {
    expect(list.normalize(p(3, 5))).toEqual(p(7, 0)); // skips the empty ledger 4
    expect(list.normalize(p(5, 0))).toEqual(p(7, 0));
    expect(list.normalize(p(1, 0))).toEqual(p(3, 0));
    expect(list.normalize(p(3, -1))).toEqual(p(3, 0));
    expect(list.normalize(p(9, 2))).toEqual(p(9, 2)); // the last ledger grows: stays
    expect(list.nextPosition(p(7, 2))).toEqual(p(9, 0));
    expect(list.nextPosition(p(9, 1))).toEqual(p(9, 2));
  });

  it('counts and walks entries across ledgers', () => {
    expect(list.totalEntries).toBe(10);
    expect(list.lastPosition()).toEqual(p(9, 1));
    expect(list.countBetween(p(3, -1), p(9, 1))).toBe(10);
    expect(list.countBetween(p(3, 2), p(7, 0))).toBe(3);
    expect(list.countBetween(p(7, 0), p(3, 2))).toBe(0);
    expect(list.countBetween(p(7, 2), p(9, -1))).toBe(0);
    expect(list.positionAtOffset(p(3, 3), 0)).toEqual(p(3, 3));
    expect(list.positionAtOffset(p(3, 3), 2)).toEqual(p(7, 0));
    expect(list.positionAtOffset(p(3, 3), 6)).toEqual(p(9, 1));
    expect(list.positionAtOffset(p(3, 3), 7)).toBeUndefined();
    expect(list.estimateBytesBetween(p(3, -1), p(3, 4))).toBe(50);
    expect(list.hasEntry(p(4, 0))).toBe(false);
    expect(list.hasEntry(p(9, 1))).toBe(true);
  });

  it('refuses ledger ids that do not increase', () => {
    expect(() => new LedgerList([rec(5, 1), rec(5, 1)])).toThrow(/increase/);
    const l = new LedgerList([rec(5, 1)]);
    expect(() => l.append(rec(4, 0))).toThrow(/increase/);
  });
});

describe('rollover decision', () => {
  const deadline = rolloverDeadline(0, config, 0.05, 0.5);
  const state = (entries: number, sizeBytes: number) => ({
    entries,
    sizeBytes,
    createdMs: 0,
    rollAtMs: deadline,
  });

  it('adds bounded jitter to the age limit', () => {
    expect(deadline).toBe(1025);
    expect(rolloverDeadline(0, config, 0.05, 0)).toBe(1000);
    expect(rolloverDeadline(0, config, 0.05, 0.999)).toBeLessThanOrEqual(1050);
  });

  it('rolls by entries and size only after the minimum time, by age only when non-empty', () => {
    expect(rolloverDecision(state(100, 0), config, 10)).toBe('keep');
    expect(rolloverDecision(state(100, 0), config, 50)).toBe('full-entries');
    expect(rolloverDecision(state(1, 1000), config, 60)).toBe('full-size');
    expect(rolloverDecision(state(1, 10), config, 1024)).toBe('keep');
    expect(rolloverDecision(state(1, 10), config, 1025)).toBe('age');
    expect(rolloverDecision(state(0, 0), config, 10_000)).toBe('keep');
  });
});

describe('trimming candidates', () => {
  const list = new LedgerList([
    rec(1, 10, 100, 0),
    rec(2, 10, 100, 500),
    rec(3, 10, 100, 900),
    rec(4, 2, 20, 1000),
  ]);
  const base = {
    ledgers: list.records,
    currentLedgerId: 4,
    list,
    nowMs: 1000,
  };

  it('deletes only ledgers before the slowest durable cursor (0/0 = once consumed)', () => {
    const t = (md: { ledgerId: number; entryId: number } | undefined) =>
      selectLedgersToTrim({
        ...base,
        slowestDurableMarkDelete: md,
        retentionTimeMs: 0,
        retentionSizeBytes: 0,
      });
    expect(t(p(1, 8))).toEqual([]);
    expect(t(p(1, 9))).toEqual([1]); // ledger 1 fully consumed
    expect(t(p(3, 0))).toEqual([1, 2]);
    expect(t(p(4, 1))).toEqual([1, 2, 3]); // never the current ledger
    expect(t(undefined)).toEqual([1, 2, 3]); // no durable cursor: all but the current one
  });

  it('keeps consumed ledgers inside retention time and size; -1 is unlimited', () => {
    const consumed = p(4, 1);
    const t = (retentionTimeMs: number, retentionSizeBytes: number) =>
      selectLedgersToTrim({
        ...base,
        slowestDurableMarkDelete: consumed,
        retentionTimeMs,
        retentionSizeBytes,
      });
    expect(t(-1, -1)).toEqual([]);
    expect(t(600, -1)).toEqual([1]); // ledger 1 is 1000 ms old, ledger 2 500 ms
    expect(t(-1, 150)).toEqual([1, 2]); // 320 bytes total: drop until <= 150
    expect(t(-1, 320)).toEqual([]);
    expect(t(2000, 250)).toEqual([1]); // over size until 220 remain
  });
});
