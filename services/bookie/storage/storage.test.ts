import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../../lib/ledger/envelope.ts';
import { silentLogger } from '../../../lib/log/index.ts';
import { removeTempDirs } from '../../../test/harness/tmp.ts';
import { storageDirs, TEST_MASTER_KEY, testStorageConfig } from '../testing/storage-fixture.ts';
import type { GcStats } from './gc.ts';
import { LedgerStorage, type StorageConfig } from './ledger-storage.ts';
import { listEntries, readEntry, readRange } from './reader.ts';

afterAll(removeTempDirs);

const KEY = TEST_MASTER_KEY;
const baseCfg: StorageConfig = testStorageConfig;

const dirs = () => storageDirs('storage');

async function openStorage(d: { journalDir: string; ledgerDir: string }, cfg: Partial<StorageConfig> = {}) {
  const fatal: Error[] = [];
  const gcs: GcStats[] = [];
  const s = await LedgerStorage.open({
    ...d,
    cfg: { ...baseCfg, ...cfg },
    log: silentLogger(),
    hooks: { onFatal: (e) => fatal.push(e), onGc: (_kind, st) => gcs.push(st) },
  });
  return { s, fatal, gcs };
}

function body(ledgerId: number, entryId: number, bytes = 200): Buffer {
  return encodeEnvelope(
    { ledgerId, entryId, lastAddConfirmed: entryId - 1, length: 0 },
    Buffer.alloc(bytes, (ledgerId * 31 + entryId) % 251),
  );
}

/** Add entries the way the server does: admit, journal, apply after the fsync. */
function add(s: LedgerStorage, ledgerId: number, entryIds: number[], bytes = 200): Promise<void> {
  const copies = entryIds.map((e) => {
    s.admitAdd(ledgerId, KEY, false);
    return { e, copy: s.appendEntry(body(ledgerId, e, bytes)) };
  });
  return new Promise((resolve, reject) =>
    s.journal.commit((err) => {
      if (err) return reject(err);
      for (const { e, copy } of copies) s.applyAdd(ledgerId, e, copy);
      resolve();
    }),
  );
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

async function expectEntries(s: LedgerStorage, ledgerId: number, ids: number[], bytes = 200) {
  for (const e of ids) {
    const r = await readEntry(s, ledgerId, e);
    expect(r.status, `${ledgerId}/${e}`).toBe('ok');
    if (r.status === 'ok') expect(r.body.equals(body(ledgerId, e, bytes))).toBe(true);
  }
}

describe('ledger storage (real files)', { concurrent: false }, () => {
  it('serves entries from the write cache, then from entry logs after a checkpoint, then after a restart', async () => {
    const d = dirs();
    const { s } = await openStorage(d);
    await add(s, 1, range(0, 300));
    await add(s, 2, range(0, 50));
    await expectEntries(s, 1, [0, 150, 299]);
    await s.checkpoint();
    expect(s.active.entries).toBe(0);
    await expectEntries(s, 1, range(0, 300));
    await expectEntries(s, 2, range(0, 50));
    expect(s.ledgers.get(1)?.lac).toBe(298);
    await add(s, 1, range(300, 310));
    await s.close();
    const { s: s2 } = await openStorage(d);
    await expectEntries(s2, 1, range(0, 310));
    expect((await readEntry(s2, 1, -1)).status).toBe('ok');
    expect((await readEntry(s2, 1, 310)).status).toBe('no-entry');
    expect((await readEntry(s2, 99, 0)).status).toBe('no-ledger');
    expect(await listEntries(s2, s2.ledgers.get(1)!)).toEqual([[0, 309]]);
    const r = await readRange(s2, 2, 40, 100, 1 << 20);
    expect(r.bodies).toHaveLength(10);
    expect(r.stop?.status).toBe('no-entry');
    await s2.close();
  });

  it('replays the journal when the process stops without a checkpoint', async () => {
    const d = dirs();
    const { s } = await openStorage(d);
    await add(s, 7, range(0, 100));
    await s.checkpoint();
    await add(s, 7, range(100, 200));
    const fence = s.fence(8, KEY);
    await fence;
    // Simulate a crash: drop the object without close(); files stay as they are.
    await s.journal.close();
    const { s: s2 } = await openStorage(d);
    await expectEntries(s2, 7, range(0, 200));
    expect(s2.ledgers.get(8)?.fenced).toBe(true);
    expect(() => s2.admitAdd(8, KEY, false)).toThrow(/FENCED/);
    expect(() => s2.admitAdd(8, Buffer.from('wrong'), true)).toThrow(/MASTER_KEY/);
    expect(s2.admitAdd(8, KEY, true).ledgerId).toBe(8);
    await s2.close();
  });

  it('writes index snapshots and keeps every slot across generations', async () => {
    const d = dirs();
    const { s } = await openStorage(d, { indexLogMaxBytes: 64 * 1024 });
    for (let round = 0; round < 6; round++) {
      for (let l = 10; l < 16; l++) await add(s, l, range(round * 400, (round + 1) * 400), 100);
      await s.checkpoint();
    }
    expect(s.index.gen).toBeGreaterThan(0);
    await s.close();
    const names = await readdir(d.ledgerDir);
    expect(names.filter((n) => n.startsWith('index-')).length).toBe(2);
    const { s: s2 } = await openStorage(d);
    for (let l = 10; l < 16; l++) await expectEntries(s2, l, [0, 255, 256, 1000, 2399], 100);
    expect(await listEntries(s2, s2.ledgers.get(12)!)).toEqual([[0, 2399]]);
    await s2.close();
  });

  it('deletes ledgers durably and reclaims their space by GC and compaction while reads continue', async () => {
    const d = dirs();
    const { s, gcs, fatal } = await openStorage(d, { entryLogMaxBytes: 128 * 1024, gcMinorThreshold: 0.5 });
    // Interleave a live ledger with ledgers to delete in every entry log.
    for (let round = 0; round < 8; round++) {
      await add(s, 100, range(round * 20, (round + 1) * 20), 1000);
      for (let l = 200; l < 204; l++) await add(s, l, range(round * 20, (round + 1) * 20), 1000);
      await s.checkpoint();
    }
    const before = s.logs.totalBytes();
    for (let l = 200; l < 204; l++) expect(await s.deleteLedger(l)).toBe(true);
    expect((await readEntry(s, 201, 0)).status).toBe('no-ledger');
    const reads = (async () => {
      for (let i = 0; i < 5; i++) await expectEntries(s, 100, range(0, 160), 1000);
    })();
    await s.gc('minor');
    await reads;
    expect(gcs[0].compactedLogs).toBeGreaterThan(0);
    expect(gcs[0].movedEntries).toBeGreaterThan(0);
    expect(fatal).toEqual([]);
    const after = s.logs.totalBytes();
    expect(after).toBeLessThan(before / 2);
    await expectEntries(s, 100, range(0, 160), 1000);
    await s.close();
    const { s: s2 } = await openStorage(d);
    expect(s2.ledgers.has(202)).toBe(false);
    await expectEntries(s2, 100, range(0, 160), 1000);
    await s2.close();
  });

  it('answers unknown, never no-entry, for a ledger whose stored entry is corrupt', async () => {
    const d = dirs();
    const { s } = await openStorage(d, { readAheadEntries: 0 });
    await add(s, 5, range(0, 10));
    await s.checkpoint();
    await s.close();
    const logs = (await readdir(d.ledgerDir)).filter((n) => n.startsWith('entrylog-'));
    const path = join(d.ledgerDir, logs[logs.length - 1]);
    const data = await readFile(path);
    data[(await stat(path)).size - 50] ^= 0xff; // flip a byte in the last entry's payload
    await writeFile(path, data);
    const { s: s2 } = await openStorage(d, { readAheadEntries: 0 });
    expect((await readEntry(s2, 5, 0)).status).toBe('ok');
    expect((await readEntry(s2, 5, 9)).status).toBe('unknown');
    expect((await readEntry(s2, 5, 50)).status).toBe('unknown');
    await s2.close();
    const { s: s3 } = await openStorage(d);
    expect(s3.ledgers.get(5)?.limbo).toBe(true);
    await s3.close();
  });

  it('enters bookie-wide limbo: unknown ledgers are unknown, not absent', async () => {
    const d = dirs();
    const { s } = await openStorage(d);
    await add(s, 1, [0]);
    await s.enterLimbo('test');
    expect((await readEntry(s, 77, 0)).status).toBe('unknown');
    expect((await readEntry(s, 1, 5)).status).toBe('unknown');
    await s.close();
    const { s: s2 } = await openStorage(d);
    expect((await readEntry(s2, 77, 0)).status).toBe('unknown');
    await s2.close();
  });
});
