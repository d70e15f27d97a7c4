import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../../../test/harness/tmp.ts';
import { writeCheckpoint } from './checkpoint-file.ts';
import {
  decodeCheckpoint,
  decodeLedgerState,
  decodePage,
  decodeSlotRun,
  encodeCheckpoint,
  encodeLedgerId,
  encodeLedgerState,
  encodePage,
  encodeSlotRun,
  IndexRecordType,
  toSlotRuns,
} from './index-records.ts';
import { IndexStore } from './index-store.ts';
import { LedgerRecord, mergePage, PAGE_BYTES, PAGE_ENTRIES, slotAt } from './ledger-record.ts';

afterAll(removeTempDirs);

const slot = (logId: number, offset: number, length = 100) => ({ logId, offset, length });

describe('index records (pure)', () => {
  it('round-trips ledger state with and without a master key', () => {
    for (const masterKey of [undefined, Buffer.alloc(0), Buffer.from('pw')]) {
      const s = { ledgerId: 2 ** 40 + 3, flags: 3, lac: -1, lastEntryId: 77, masterKey };
      expect(decodeLedgerState(encodeLedgerState(s))).toEqual(s);
    }
    expect(decodeLedgerState(Buffer.alloc(5))).toBeUndefined();
  });

  it('splits sorted slots into runs of consecutive entries and round-trips them', () => {
    const items = [0, 1, 2, 5, 6, 9].map((e) => ({ entryId: e, slot: slot(1, e * 200) }));
    const runs = toSlotRuns(4, items);
    expect(runs.map((r) => [r.firstEntryId, r.slots.length])).toEqual([
      [0, 3],
      [5, 2],
      [9, 1],
    ]);
    for (const r of runs) expect(decodeSlotRun(encodeSlotRun(r))).toEqual(r);
    const bad = encodeSlotRun(runs[0]).subarray(0, 30);
    expect(decodeSlotRun(bad)).toBeUndefined();
  });

  it('round-trips pages and checkpoints, and rejects malformed ones', () => {
    const page = Buffer.alloc(PAGE_BYTES, 7);
    expect(decodePage(encodePage(9, 3, page))).toMatchObject({ ledgerId: 9, pageNo: 3 });
    expect(decodePage(Buffer.alloc(10))).toBeUndefined();
    const cp = {
      version: 1,
      journalFileId: 3,
      journalOffset: 99,
      indexGen: 2,
      hasSnapshot: true,
      indexLogBytes: 7,
    } as const;
    expect(decodeCheckpoint(encodeCheckpoint(cp))).toEqual(cp);
    expect(decodeCheckpoint(Buffer.from('{"version":1}'))).toBeUndefined();
    expect(decodeCheckpoint(Buffer.from('not json'))).toBeUndefined();
  });
});

describe('ledger record index pages (pure)', () => {
  it('keeps slots per page, reports replaced slots, and merges over snapshot pages', () => {
    const rec = new LedgerRecord(1);
    expect(rec.setSlot(5, slot(1, 100))).toBeUndefined();
    expect(rec.setSlot(5, slot(2, 300))).toEqual(slot(1, 100));
    rec.setSlot(PAGE_ENTRIES + 1, slot(2, 500));
    expect(rec.deltaSlot(5)).toEqual(slot(2, 300));
    expect(rec.deltaSlot(6)).toBeUndefined();
    expect(rec.lastEntryId).toBe(PAGE_ENTRIES + 1);
    rec.snapPages.set(0, 1000);
    rec.snapPages.set(7, 5000);
    expect(rec.snapSlotOffset(3)).toBe(1000 + 3 * 12);
    expect(rec.snapSlotOffset(PAGE_ENTRIES * 2)).toBeUndefined();
    expect(rec.pageNumbers()).toEqual([0, 1, 7]);
    const snapshot = Buffer.alloc(PAGE_BYTES);
    snapshot.writeUInt32LE(9, 0);
    snapshot.writeUInt32LE(64, 4);
    snapshot.writeUInt32LE(50, 8);
    const merged = mergePage(snapshot, rec.delta.get(0));
    expect(slotAt(merged, 0)).toEqual({ logId: 9, offset: 64, length: 50 });
    expect(slotAt(merged, 5)).toEqual(slot(2, 300));
    expect(slotAt(merged, 1)).toBeUndefined();
  });
});

describe('index store files', () => {
  it('rebuilds ledgers from the change log and refuses a damaged one', async () => {
    const dir = tempDir('index-');
    const { store } = await IndexStore.load(dir, undefined);
    const rec = { ledgerId: 3, flags: 1, lac: 4, lastEntryId: 5, masterKey: Buffer.from('k') };
    await store.appendLog([
      { type: IndexRecordType.LEDGER, payload: encodeLedgerState(rec) },
      {
        type: IndexRecordType.SLOTS,
        payload: encodeSlotRun({ ledgerId: 3, firstEntryId: 0, slots: [slot(0, 68), slot(0, 172)] }),
      },
      { type: IndexRecordType.LEDGER, payload: encodeLedgerState({ ...rec, ledgerId: 4 }) },
      { type: IndexRecordType.DELETE, payload: encodeLedgerId(4) },
    ]);
    const logBytes = store.logBytes;
    await store.close();
    const cp = {
      version: 1,
      journalFileId: 0,
      journalOffset: 0,
      indexGen: 0,
      hasSnapshot: false,
      indexLogBytes: logBytes,
    } as const;
    await writeCheckpoint(dir, cp);
    // Bytes past the checkpointed length (an unfinished checkpoint) are ignored and cut.
    const fh = await open(join(dir, 'index-00000000.log'), 'a');
    await fh.write(Buffer.from('partial record'));
    await fh.close();
    const loaded = await IndexStore.load(dir, cp);
    expect([...loaded.ledgers.keys()]).toEqual([3]);
    const r3 = loaded.ledgers.get(3)!;
    expect(r3.fenced).toBe(true);
    expect(r3.masterKey?.toString()).toBe('k');
    expect(await loaded.store.readSlot(r3, 1)).toEqual(slot(0, 172));
    expect(loaded.logLive.get(0)).toBe(200);
    await loaded.store.close();
    const data = Buffer.alloc(logBytes, 0x33);
    await writeFile(join(dir, 'index-00000000.log'), data);
    await expect(IndexStore.load(dir, cp)).rejects.toThrow(/BOOKIE_INDEX_CORRUPT/);
  });
});
