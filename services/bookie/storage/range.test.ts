/**
 * Striped ReadRange (bookie.proto ReadRangeRequest.stride_*): a bookie of a round-robin ensemble
 * with E > Qw returns the entries it holds of a range in one call, and still stops at the first
 * selected entry that is missing (it never skips an entry it was asked for).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from '../../../lib/ledger/envelope.ts';
import { silentLogger } from '../../../lib/log/index.ts';
import { removeTempDirs, tempDir } from '../../../test/harness/tmp.ts';
import { strideOf } from '../server/validate.ts';
import { TEST_MASTER_KEY, testStorageConfig } from '../testing/storage-fixture.ts';
import { LedgerStorage, type StorageConfig } from './ledger-storage.ts';
import { readRange } from './reader.ts';

afterAll(removeTempDirs);

const KEY = TEST_MASTER_KEY;
const cfg: StorageConfig = testStorageConfig;

const E = 3;
const QW = 2;
/** Round robin: the bookie at ensemble index k holds e when (k - e) mod E < Qw. */
const holds = (k: number, e: number) => (((k - e) % E) + E) % E < QW;
const positionOf = (k: number, first: number) => (((first - k + QW - 1) % E) + E) % E;

async function storeEntries(s: LedgerStorage, ledgerId: number, ids: number[]): Promise<void> {
  const copies = ids.map((e) => {
    s.admitAdd(ledgerId, KEY, false);
    const body = encodeEnvelope(
      { ledgerId, entryId: e, lastAddConfirmed: e - 1, length: 0 },
      Buffer.from(`e${e}`),
    );
    return { e, copy: s.appendEntry(body) };
  });
  await new Promise<void>((resolve, reject) =>
    s.journal.commit((err) => {
      if (err) return reject(err);
      for (const { e, copy } of copies) s.applyAdd(ledgerId, e, copy);
      resolve();
    }),
  );
}

const idsOf = (bodies: Buffer[]) =>
  bodies.map((b) => {
    const env = decodeEnvelope(b);
    if (typeof env === 'string') throw new Error(env);
    return env.entryId;
  });

describe('striped read range', { concurrent: false }, () => {
  it('returns every entry a bookie holds of a range, from the write cache and from entry logs', async () => {
    const root = tempDir('range-');
    const s = await LedgerStorage.open({
      journalDir: join(root, 'journal'),
      ledgerDir: join(root, 'ledgers'),
      cfg,
      log: silentLogger(),
      hooks: { onFatal: () => {} },
    });
    for (let k = 0; k < E; k++) {
      const ledgerId = 10 + k;
      await storeEntries(
        s,
        ledgerId,
        [...Array(300).keys()].filter((e) => holds(k, e)),
      );
    }
    for (const phase of ['write cache', 'entry logs']) {
      if (phase === 'entry logs') await s.checkpoint();
      for (let k = 0; k < E; k++) {
        for (const first of [0, 1, 2, 100, 101]) {
          if (!holds(k, first)) continue;
          const stride = strideOf({ stridePeriod: E, strideRun: QW, firstRunPosition: positionOf(k, first) });
          const r = await readRange(s, 10 + k, first, 50, 1 << 20, stride);
          const want = [...Array(300).keys()].filter((e) => e >= first && holds(k, e)).slice(0, 50);
          expect(idsOf(r.bodies), `${phase} k=${k} first=${first}`).toEqual(want);
        }
        // To the end of what it holds: stops there, saying why.
        const from = holds(k, 200) ? 200 : 201;
        const stride = { period: E, run: QW, position: positionOf(k, from) };
        const r = await readRange(s, 10 + k, from, 1000, 1 << 20, stride);
        expect(r.bodies.length).toBe([...Array(300).keys()].filter((e) => e >= from && holds(k, e)).length);
        expect(r.stop?.status).toBe('no-entry');
      }
    }
    // Without a stride the range stops at the first entry this bookie does not hold.
    const plain = await readRange(s, 10, 0, 50, 1 << 20);
    expect(idsOf(plain.bodies)).toEqual([0]);
    await s.close();
  });

  it('stops at a selected entry that is missing instead of skipping it', async () => {
    const root = tempDir('range-');
    const s = await LedgerStorage.open({
      journalDir: join(root, 'journal'),
      ledgerDir: join(root, 'ledgers'),
      cfg,
      log: silentLogger(),
      hooks: { onFatal: () => {} },
    });
    const k = 1;
    await storeEntries(
      s,
      7,
      [...Array(60).keys()].filter((e) => holds(k, e) && e !== 31),
    );
    const r = await readRange(s, 7, 0, 100, 1 << 20, { period: E, run: QW, position: positionOf(k, 0) });
    expect(idsOf(r.bodies)).toEqual([...Array(31).keys()].filter((e) => holds(k, e)));
    expect(r.stop?.status).toBe('no-entry');
    await s.close();
  });

  it('validates the stride fields', () => {
    expect(strideOf({ stridePeriod: 0, strideRun: 0, firstRunPosition: 0 })).toBeUndefined();
    expect(strideOf({ stridePeriod: 3, strideRun: 3, firstRunPosition: 2 })).toBeUndefined();
    expect(strideOf({ stridePeriod: 3, strideRun: 2, firstRunPosition: 1 })).toEqual({
      period: 3,
      run: 2,
      position: 1,
    });
    for (const bad of [
      { stridePeriod: 0, strideRun: 2, firstRunPosition: 0 },
      { stridePeriod: 3, strideRun: 0, firstRunPosition: 0 },
      { stridePeriod: 3, strideRun: 4, firstRunPosition: 0 },
      { stridePeriod: 3, strideRun: 2, firstRunPosition: 2 },
      { stridePeriod: 5000, strideRun: 2, firstRunPosition: 0 },
    ])
      expect(() => strideOf(bad), JSON.stringify(bad)).toThrow(/BOOKIE_BAD_REQUEST/);
  });
});
