/**
 * Limbo on real files: a ledger in limbo refuses normal adds (the bookie may have forgotten a
 * fence) and accepts recovery adds; the limbo covers only ledgers allocated before the loss (id
 * below the watermark), and survives a restart with the same scope.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../../lib/ledger/envelope.ts';
import { silentLogger } from '../../../lib/log/index.ts';
import { removeTempDirs } from '../../../test/harness/tmp.ts';
import { storageDirs, TEST_MASTER_KEY, testStorageConfig } from '../testing/storage-fixture.ts';
import { LedgerStorage, type StorageConfig } from './ledger-storage.ts';
import { limboCovers, readLimbo } from './limbo.ts';
import { readEntry } from './reader.ts';

afterAll(removeTempDirs);

const KEY = TEST_MASTER_KEY;
const cfg: StorageConfig = testStorageConfig;

const dirs = () => storageDirs('limbo');

function open(
  d: ReturnType<typeof dirs>,
  watermark: number | (() => number | undefined) | undefined,
  ledgerOpenInMetadata?: (ledgerId: number) => Promise<boolean>,
) {
  return LedgerStorage.open({
    ...d,
    cfg,
    log: silentLogger(),
    hooks: { onFatal: () => {} },
    ledgerIdWatermark: async () => (typeof watermark === 'function' ? watermark() : watermark),
    ledgerOpenInMetadata,
  });
}

/** Admit and make durable one entry (the server's add path); throws the admission error. */
function add(s: LedgerStorage, ledgerId: number, entryId: number, recovery: boolean): Promise<void> {
  s.admitAdd(ledgerId, KEY, recovery);
  const copy = s.appendEntry(
    encodeEnvelope({ ledgerId, entryId, lastAddConfirmed: entryId - 1, length: 0 }, Buffer.alloc(50, 7)),
  );
  return new Promise((resolve, reject) =>
    s.journal.commit((err) => {
      if (err) return reject(err);
      s.applyAdd(ledgerId, entryId, copy);
      resolve();
    }),
  );
}

describe('limbo', { concurrent: false }, () => {
  it('limboCovers: no marker covers nothing, no watermark covers everything', () => {
    expect(limboCovers(undefined, 5)).toBe(false);
    expect(limboCovers({ sinceMs: 1, reason: 'x' }, 5)).toBe(true);
    expect(limboCovers({ sinceMs: 1, reason: 'x', ledgerIdWatermark: 100 }, 99)).toBe(true);
    expect(limboCovers({ sinceMs: 1, reason: 'x', ledgerIdWatermark: 100 }, 100)).toBe(false);
  });

  it('ledgers from before the loss refuse normal adds and take recovery adds; later ledgers are normal', async () => {
    const d = dirs();
    const s = await open(d, 100);
    await add(s, 5, 0, false);
    await s.enterLimbo('test: data lost');
    expect((await readLimbo(d.ledgerDir))?.ledgerIdWatermark).toBe(100);

    // Known before the loss, and learnt only after it (id below the watermark): both in limbo.
    for (const ledgerId of [5, 42]) {
      expect(() => s.admitAdd(ledgerId, KEY, false), `${ledgerId}`).toThrow(/BOOKIE_UNKNOWN_LEDGER_STATE/);
      await add(s, ledgerId, 1, true);
      expect((await readEntry(s, ledgerId, 1)).status).toBe('ok');
      expect((await readEntry(s, ledgerId, 2)).status).toBe('unknown');
    }
    expect((await readEntry(s, 43, 0)).status).toBe('unknown');

    // Allocated after the loss: normal adds, and absence is real.
    await add(s, 100, 0, false);
    expect((await readEntry(s, 100, 1)).status).toBe('no-entry');
    expect((await readEntry(s, 101, 0)).status).toBe('no-ledger');
    await s.close();

    const s2 = await open(d, 500);
    expect(() => s2.admitAdd(5, KEY, false)).toThrow(/BOOKIE_UNKNOWN_LEDGER_STATE/);
    expect(() => s2.admitAdd(99, KEY, false)).toThrow(/BOOKIE_UNKNOWN_LEDGER_STATE/);
    expect(s2.ledgers.get(100)?.limbo).toBe(false);
    await add(s2, 100, 1, false);
    expect((await readEntry(s2, 150, 0)).status).toBe('no-ledger');
    await s2.close();
  });

  it('without a watermark the limbo covers every ledger; a later loss widens the scope, never narrows it', async () => {
    const d = dirs();
    const s = await open(d, undefined);
    await s.enterLimbo('test: no metadata');
    expect(() => s.admitAdd(1_000_000, KEY, false)).toThrow(/BOOKIE_UNKNOWN_LEDGER_STATE/);
    expect((await readEntry(s, 2_000_000, 0)).status).toBe('unknown');
    await s.close();

    const d2 = dirs();
    let counter: number | undefined = 10;
    const t = await open(d2, () => counter);
    await t.enterLimbo('first loss');
    expect(t.limboMarker?.ledgerIdWatermark).toBe(10);
    counter = 30;
    await t.enterLimbo('second loss');
    expect(t.limboMarker?.ledgerIdWatermark).toBe(30);
    expect(() => t.admitAdd(20, KEY, false)).toThrow(/BOOKIE_UNKNOWN_LEDGER_STATE/);
    counter = undefined;
    await t.enterLimbo('third loss, counter unreadable');
    expect(t.limboMarker?.ledgerIdWatermark).toBeUndefined();
    expect(() => t.admitAdd(1_000, KEY, false)).toThrow(/BOOKIE_UNKNOWN_LEDGER_STATE/);
    await t.close();
  });

  it('a ledger in limbo whose metadata is OPEN after the loss (never fenced) takes normal adds again', async () => {
    const d = dirs();
    const states: Record<number, boolean | Error> = { 1: true, 2: false, 3: new Error('store down') };
    const lookups: number[] = [];
    const s = await open(d, undefined, async (id) => {
      lookups.push(id);
      const st = states[id];
      if (st instanceof Error) throw st;
      return st ?? false;
    });
    expect(s.limboCheck([{ ledgerId: 1, recovery: false }])).toBeUndefined(); // no limbo yet
    await s.enterLimbo('test: data lost');
    const normal = (ledgerId: number) => [{ ledgerId, recovery: false }];
    expect(s.limboCheck([{ ledgerId: 1, recovery: true }])).toBeUndefined(); // recovery adds: no check
    await s.limboCheck([...normal(1), ...normal(1), ...normal(2), ...normal(3)]);
    expect(lookups).toEqual([1, 2, 3]);
    await add(s, 1, 0, false);
    expect((await readEntry(s, 1, 0)).status).toBe('ok');
    expect((await readEntry(s, 1, 1)).status).toBe('unknown'); // entries stay in limbo for reads
    expect(() => s.admitAdd(2, KEY, false)).toThrow(/BOOKIE_UNKNOWN_LEDGER_STATE/);
    expect(() => s.admitAdd(3, KEY, false)).toThrow(/BOOKIE_UNKNOWN_LEDGER_STATE/);
    // Known states are remembered; an unreadable one is read again.
    expect(s.limboCheck([...normal(1), ...normal(2)])).toBeUndefined();
    await s.limboCheck(normal(3));
    expect(lookups).toEqual([1, 2, 3, 3]);
    // A fence taken now is durable here: the ledger refuses normal adds whatever its metadata.
    await s.fence(1, KEY);
    expect(() => s.admitAdd(1, KEY, false)).toThrow(/FENCED/);
    await s.close();
  });
});
