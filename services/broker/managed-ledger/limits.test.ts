import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from '../../../lib/config/index.ts';
import { defaultSettings, managedLedgerSettings, resolveTopicConfig } from './limits.ts';

describe('managed-ledger limits', () => {
  const s = defaultSettings();

  it('defaults follow internals.md Appendix B', () => {
    const c = resolveTopicConfig(s);
    expect(c).toMatchObject({
      maxEntriesPerLedger: 50_000,
      maxSizePerLedgerBytes: 2048 * 1024 * 1024,
      minLedgerRolloverTimeMs: 10 * 60_000,
      maxLedgerRolloverTimeMs: 240 * 60_000,
      retentionTimeMs: 0,
      retentionSizeBytes: 0,
    });
    expect(s).toMatchObject({
      markDeleteRatePerSecond: 1,
      maxAckRangesToPersist: 10_000,
      maxAckRangesInKey: 1_000,
      cursorLedgerMaxEntries: 50_000,
      readAheadEntries: 100,
      retentionCheckIntervalMs: 120_000,
    });
  });

  it('rejects bad per-topic values with INVALID_CONFIG naming the field', () => {
    const bad = (o: Record<string, unknown>) => () => resolveTopicConfig(s, o);
    expect(bad({ ensembleSize: 2, writeQuorum: 3 })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
    expect(bad({ ackQuorum: 0 })).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ field: 'ackQuorum' }) }),
    );
    expect(bad({ retentionTimeMs: -2 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(bad({ maxEntriesPerLedger: 1.5 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(bad({ nope: 1 })).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ reason: 'unknown setting' }) }),
    );
    expect(
      resolveTopicConfig(s, { retentionTimeMs: -1, retentionSizeBytes: undefined }).retentionSizeBytes,
    ).toBe(0);
  });

  it('is a lib/config spec: loads from flags and documents every setting', () => {
    const c = loadConfig('broker', managedLedgerSettings, { argv: ['--mark-delete-rate-per-second', '5'] });
    expect(c.markDeleteRatePerSecond).toBe(5);
    expect(() =>
      loadConfig('broker', managedLedgerSettings, { argv: ['--cache-eviction-watermark', '2'] }),
    ).toThrow();
    const doc = describeConfig('broker', managedLedgerSettings);
    for (const k of Object.keys(managedLedgerSettings))
      expect(doc).toContain(k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));
  });
});
