/**
 * Each known protocol defect has a scripted scenario that loses a confirmed entry (or blocks
 * recovery) when the defect is re-introduced, and passes with the protocol as implemented. This
 * proves both that the client avoids the defect and that the checks would notice it.
 */
import { describe, expect, it } from 'vitest';
import {
  recoveryBelowLastFragment,
  unfencedRecoveryReads,
  unknownAsAbsent,
  wipedBookieForgetsFence,
} from './defect-scenarios.ts';

describe('known protocol defects', () => {
  it('recovery reads fence: a late add cannot reach Qa after the ledger closed', async () => {
    const ok = await unfencedRecoveryReads({});
    expect(ok.violations).toEqual([]);
    expect(ok.appendFailures.map((f) => f.code)).toEqual(['LEDGER_FENCED']);
    expect(ok.finalLastEntryId).toBe(-1);

    const bad = await unfencedRecoveryReads({ recoveryReadsDoNotFence: true });
    expect(bad.confirmed).toEqual([0]);
    expect(bad.violations.join('\n')).toMatch(/LOST: entry 0 was confirmed but the ledger closed at -1/);
  });

  it('recovery starts at max(LAC, first entry of the last fragment - 1)', async () => {
    const ok = await recoveryBelowLastFragment({});
    expect(ok.violations).toEqual([]);
    expect(ok.confirmed).toEqual([0, 1, 2, 3, 4]);
    // 5–9 were never confirmed: recovery may keep them (found on Z) or drop them (absent on Y).
    expect(ok.recovered).toBeGreaterThanOrEqual(4);

    const bad = await recoveryBelowLastFragment({ recoveryIgnoresLastFragment: true });
    expect(bad.recoveryError).toBe('INVALID_FRAGMENT');
    expect(bad.violations.join('\n')).toMatch(/recovery failed: INVALID_FRAGMENT/);
  });

  it('UNKNOWN_LEDGER_STATE never counts as "no such entry"', async () => {
    const ok = await unknownAsAbsent({});
    expect(ok.violations).toEqual([]);
    expect(ok.confirmed).toEqual([0]);
    expect(ok.recovered).toBe(0);

    const bad = await unknownAsAbsent({ unknownCountsAsAbsent: true });
    expect(bad.violations.join('\n')).toMatch(/LOST: entry 0 was confirmed but the ledger closed at -1/);
  });

  it('bookie requirement: a ledger in limbo refuses normal adds (a wiped bookie forgot its fence)', async () => {
    const ok = await wipedBookieForgetsFence(true);
    expect(ok.violations).toEqual([]);
    expect(ok.recovered).toBe(-1);
    expect(ok.appendFailures.map((f) => f.code)).toEqual(['LEDGER_FENCED']);

    const bad = await wipedBookieForgetsFence(false);
    expect(bad.confirmed).toEqual([0]);
    expect(bad.violations.join('\n')).toMatch(/LOST: entry 0 was confirmed but the ledger closed at -1/);
  });
});
