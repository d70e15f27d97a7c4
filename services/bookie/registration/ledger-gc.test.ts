import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log/index.ts';
import * as keys from '../../../lib/metadata/keys.ts';
import type { MetadataStore } from '../../../lib/metadata/store.ts';
import { removeTempDirs, tempDir } from '../../../test/harness/tmp.ts';
import { LedgerStorage } from '../storage/ledger-storage.ts';
import { testStorageConfig } from '../testing/storage-fixture.ts';
import { MetadataLedgerGc } from './ledger-gc.ts';

afterAll(removeTempDirs);

/** Only get/list are used by the check; an in-memory map stands in for the store. */
function fakeStore(present: Set<string>): MetadataStore {
  return {
    get: async (key: string) =>
      present.has(key) ? { key, value: new Uint8Array(), version: 1, createVersion: 1 } : undefined,
    list: async (prefix: string) => ({
      entries: [...present]
        .filter((k) => k.startsWith(prefix))
        .map((key) => ({ key, value: new Uint8Array(), version: 1, createVersion: 1 })),
      more: false,
    }),
  } as unknown as MetadataStore;
}

async function storageWith(ids: number[]) {
  const root = tempDir('lgc-');
  const s = await LedgerStorage.open({
    journalDir: `${root}/j`,
    ledgerDir: `${root}/l`,
    cfg: {
      ...testStorageConfig,
      journalRecycledFiles: 1,
      writeCacheMaxBytes: 1024 * 1024,
      readCacheMaxBytes: 0,
      readAheadEntries: 0,
      readAheadMaxBytes: 0,
      entryLogMaxBytes: 1024 * 1024,
      indexLogMaxBytes: 1024 * 1024,
    },
    log: silentLogger(),
    hooks: { onFatal: () => {} },
  });
  for (const id of ids) await s.fence(id, Buffer.from('k'));
  return s;
}

const cfg = { clusterName: 'c', metadataGcIntervalMs: 1000, metadataGcGraceMs: 1000, metadataGcBatch: 100 };

describe('metadata ledger GC', () => {
  it('deletes only ledgers missing from the metadata, after the grace period', async () => {
    const s = await storageWith([1, 2, 3]);
    const gc = new MetadataLedgerGc(fakeStore(new Set([keys.ledger('c', 2)])), s, cfg, silentLogger());
    expect(await gc.runOnce(10_000)).toEqual([]); // first sight: within the grace
    expect(await gc.runOnce(11_500)).toEqual([1, 3]);
    expect([...s.ledgers.keys()]).toEqual([2]);
    await s.close();
  });

  it('deletes nothing when the cluster has no ledger metadata or none of a batch is known', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => 100 + i);
    const s = await storageWith(ids);
    const empty = new MetadataLedgerGc(fakeStore(new Set()), s, cfg, silentLogger());
    await empty.runOnce(0);
    expect(await empty.runOnce(5000)).toEqual([]);
    const other = new MetadataLedgerGc(fakeStore(new Set([keys.ledger('c', 999)])), s, cfg, silentLogger());
    await other.runOnce(0);
    expect(await other.runOnce(5000)).toEqual([]);
    expect(s.ledgers.size).toBe(12);
    await s.close();
  });
});
