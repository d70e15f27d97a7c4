import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../../lib/ledger/envelope.ts';
import { removeTempDirs, tempDir } from '../../../test/harness/tmp.ts';
import { encodeFrame, FRAME_HEADER_BYTES } from './frame.ts';
import { listJournalFiles, retireJournalFiles } from './files.ts';
import { ledgerPayload, RecordType, type JournalRecord } from './records.ts';
import { type FileScan, planRecovery, replayJournal } from './replay.ts';
import { type JournalMark, JournalWriter } from './writer.ts';

afterAll(removeTempDirs);

const MAX_FRAME = 64 * 1024;

function entry(ledgerId: number, entryId: number, bytes = 100): Buffer {
  return encodeEnvelope(
    { ledgerId, entryId, lastAddConfirmed: entryId - 1, length: 0 },
    Buffer.alloc(bytes, entryId % 251),
  );
}

/** fdatasyncs in flight and the write call for the writer tests (each suite runs with both kinds). */
let syncsInFlight = 1;
let blockingWrites = true;

async function openWriter(dir: string, firstFileId: number, recycled: string[] = [], fileBytes = 256 * 1024) {
  return JournalWriter.open({
    maxSyncsInFlight: syncsInFlight,
    blockingWrites,
    dir,
    fileBytes,
    firstFileId,
    recycled,
    maxBytes: 16 * 1024,
    maxWaitMs: 1,
    flushWhenIdle: true,
    pooledSlabBytes: 4 * 1024 * 1024,
  });
}

function commit(w: JournalWriter): Promise<JournalMark> {
  return new Promise((resolve, reject) => w.commit((err, mark) => (err ? reject(err) : resolve(mark))));
}

async function replayAll(dir: string, mark: JournalMark, recycled: string[] = []) {
  const recs: JournalRecord[] = [];
  const out = await replayJournal(dir, mark, MAX_FRAME, recycled, (r) => {
    recs.push(r);
  });
  return { recs, out };
}

const scan = (id: number, stop: FileScan['stop'], frames = 1, start = 0): FileScan => ({
  id,
  start,
  end: 100,
  stop,
  frames,
  sizeBytes: 1000,
});

describe('journal recovery plan', () => {
  it('seals a cleanly ending last file and reports nothing torn', () => {
    expect(planRecovery([scan(1, 'end-frame'), scan(2, 'zeros')])).toEqual({
      seal: { fileId: 2, offset: 100, torn: false, stop: 'zeros' },
    });
  });
  it('cuts a torn tail of the last data file', () => {
    expect(planRecovery([scan(1, 'end-frame'), scan(2, 'bad-crc'), scan(3, 'zeros', 0)]).seal).toEqual({
      fileId: 2,
      offset: 100,
      torn: true,
      stop: 'bad-crc',
    });
  });
  it('reports missing data in the middle as corruption', () => {
    const plan = planRecovery([scan(1, 'bad-crc'), scan(2, 'zeros')]);
    expect(plan.corruption).toMatchObject({ fileId: 1, offset: 100 });
    expect(planRecovery([scan(1, 'end-frame'), scan(3, 'zeros')]).corruption).toMatchObject({ fileId: 2 });
    expect(planRecovery([scan(1, 'missing', 0, 50), scan(2, 'zeros')]).corruption).toMatchObject({
      fileId: 1,
    });
  });
  it('has nothing to do for an empty journal', () => {
    expect(planRecovery([])).toEqual({});
    expect(planRecovery([scan(4, 'zeros', 0)])).toEqual({});
  });
});

describe.each([
  { syncs: 1, blocking: true },
  { syncs: 3, blocking: true },
  { syncs: 3, blocking: false },
])(
  'journal writer and replay (real files, real fsync), $syncs fsyncs in flight, blocking writes $blocking',
  ({ syncs, blocking }) => {
    beforeAll(() => {
      syncsInFlight = syncs;
      blockingWrites = blocking;
    });

    it('runs commit callbacks in order with growing marks while groups are written and synced', async () => {
      const dir = tempDir('jnl-');
      const w = await openWriter(dir, 0, [], 128 * 1024);
      const order: number[] = [];
      const marks: JournalMark[] = [];
      const done: Promise<void>[] = [];
      for (let i = 0; i < 400; i++) {
        w.appendEntry(entry(1, i, 700));
        if (i % 7 === 6) {
          done.push(
            new Promise((resolve, reject) =>
              w.commit((err, mark) => {
                if (err) reject(err);
                order.push(i);
                marks.push(mark);
                resolve();
              }),
            ),
          );
          // Let the writer start groups between commits, so several are in flight.
          if (i % 21 === 20) await new Promise((r) => setImmediate(r));
        }
      }
      await Promise.all(done);
      await w.close();
      expect(order).toEqual([...order].sort((a, b) => a - b));
      for (let k = 1; k < marks.length; k++) {
        const [a, b] = [marks[k - 1], marks[k]];
        expect(b.fileId > a.fileId || (b.fileId === a.fileId && b.offset >= a.offset)).toBe(true);
      }
      const { recs, out } = await replayAll(dir, { fileId: 0, offset: 0 });
      expect(recs.map((r) => (r as { entryId: number }).entryId)).toEqual(
        Array.from({ length: 400 }, (_, i) => i),
      );
      expect(out.plan.corruption).toBeUndefined();
    });

    it('fails every waiting and later commit once an fdatasync fails, and reports it once', async () => {
      const dir = tempDir('jnl-');
      const fatal: Error[] = [];
      const w = await JournalWriter.open({
        dir,
        fileBytes: 256 * 1024,
        firstFileId: 0,
        recycled: [],
        maxBytes: 4 * 1024,
        maxWaitMs: 1,
        flushWhenIdle: true,
        maxSyncsInFlight: syncs,
        blockingWrites: blocking,
        pooledSlabBytes: 4 * 1024 * 1024,
        onFatal: (e) => fatal.push(e),
      });
      w.appendEntry(entry(1, 0));
      await commit(w);
      // Every FileHandle shares one prototype: make the next fdatasyncs fail.
      const fh = await open(join(dir, 'probe'), 'w');
      const handleProto = Object.getPrototypeOf(fh) as { datasync: () => Promise<void> };
      await fh.close();
      const realSync = handleProto.datasync;
      handleProto.datasync = () => Promise.reject(new Error('EIO: injected'));
      try {
        const outcomes: Promise<unknown>[] = [];
        let refused = 0;
        for (let i = 1; i <= 30; i++) {
          try {
            w.appendEntry(entry(1, i));
          } catch (e) {
            expect(String(e)).toMatch(/JOURNAL_FAILED/); // appends after the failure are refused
            refused++;
            continue;
          }
          outcomes.push(
            commit(w).then(
              () => 'ok',
              (e: Error) => e.message,
            ),
          );
          if (i % 10 === 0) await new Promise((r) => setImmediate(r));
        }
        const results = await Promise.all(outcomes);
        expect(results.length).toBeGreaterThan(0);
        expect(results.every((r) => typeof r === 'string' && r.includes('JOURNAL_FAILED'))).toBe(true);
        expect(refused + results.length).toBe(30);
      } finally {
        handleProto.datasync = realSync;
      }
      expect(() => w.appendEntry(entry(1, 99))).toThrow(/JOURNAL_FAILED/);
      await expect(commit(w)).rejects.toThrow(/JOURNAL_FAILED/);
      expect(fatal).toHaveLength(1);
      await w.close();
    });

    it('replays every committed record across rotated files, in order', async () => {
      const dir = tempDir('jnl-');
      const w = await openWriter(dir, 0);
      const sent: string[] = [];
      const marks: Promise<JournalMark>[] = [];
      for (let i = 0; i < 3000; i++) {
        if (i % 500 === 0) w.appendControl(RecordType.MASTER_KEY, ledgerPayload(i, Buffer.from('pw')));
        w.appendEntry(entry(i % 7, i));
        sent.push(`${i % 7}/${i}`);
        if (i % 100 === 99) marks.push(commit(w));
      }
      w.appendControl(RecordType.FENCE, ledgerPayload(3));
      const last = await commit(w);
      await Promise.all(marks);
      await w.close();
      expect((await listJournalFiles(dir)).length).toBeGreaterThan(1);
      expect(last.fileId).toBeGreaterThan(0);
      const { recs, out } = await replayAll(dir, { fileId: 0, offset: 0 });
      const entries = recs.filter((r) => r.type === 'entry');
      expect(entries.map((r) => `${r.ledgerId}/${r.entryId}`)).toEqual(sent);
      expect(recs.filter((r) => r.type === 'master-key')).toHaveLength(6);
      expect(recs.at(-1)).toEqual({ type: 'fence', ledgerId: 3 });
      expect(out.plan.corruption).toBeUndefined();
      expect(out.truncatedBytes).toBe(0);
      // A second replay (after the seal) sees exactly the same.
      const again = await replayAll(dir, { fileId: 0, offset: 0 });
      expect(again.recs).toHaveLength(recs.length);
      expect(again.out.plan.corruption).toBeUndefined();
    });

    it('replays only what follows the mark', async () => {
      const dir = tempDir('jnl-');
      const w = await openWriter(dir, 5);
      w.appendEntry(entry(1, 0));
      const mark = await commit(w);
      w.appendEntry(entry(1, 1));
      w.appendEntry(entry(1, 2));
      await commit(w);
      await w.close();
      const { recs } = await replayAll(dir, mark);
      expect(recs.map((r) => (r.type === 'entry' ? r.entryId : -1))).toEqual([1, 2]);
    });

    it('cuts a torn tail (partial frame + garbage) and keeps every committed record', async () => {
      const dir = tempDir('jnl-');
      const w = await openWriter(dir, 0);
      for (let i = 0; i < 50; i++) w.appendEntry(entry(9, i, 1000));
      const mark = await commit(w);
      await w.close();
      const [file] = await listJournalFiles(dir);
      // Simulate a group write cut by a crash: a frame header claiming more than was written, then garbage.
      const torn = encodeFrame(0, RecordType.ENTRY, entry(9, 50, 1000)).subarray(0, 700);
      const garbage = Buffer.from('this is not a journal frame at all....');
      const fh = await readFile(file.path);
      const tail = Buffer.concat([torn, garbage]);
      tail.copy(fh, mark.offset);
      await writeFile(file.path, fh);
      const { recs, out } = await replayAll(dir, { fileId: 0, offset: 0 });
      expect(recs.filter((r) => r.type === 'entry').map((r) => (r as { entryId: number }).entryId)).toEqual(
        Array.from({ length: 50 }, (_, i) => i),
      );
      expect(out.plan.seal).toMatchObject({ fileId: 0, offset: mark.offset, torn: true });
      expect(out.truncatedBytes).toBeGreaterThan(0);
      expect((await stat(file.path)).size).toBe(mark.offset + FRAME_HEADER_BYTES);
      // The writer continues in a new file; the next replay sees a clean chain.
      const w2 = await openWriter(dir, out.nextFileId);
      w2.appendEntry(entry(9, 50));
      await commit(w2);
      await w2.close();
      const again = await replayAll(dir, { fileId: 0, offset: 0 });
      expect(again.recs.filter((r) => r.type === 'entry')).toHaveLength(51);
      expect(again.out.plan.corruption).toBeUndefined();
      expect(again.out.plan.seal?.torn).toBe(false);
    });

    it('reports corruption when a completed file loses its end', async () => {
      const dir = tempDir('jnl-');
      const w = await openWriter(dir, 0, [], 64 * 1024);
      for (let i = 0; i < 200; i++) {
        w.appendEntry(entry(1, i, 1000));
        if (i % 10 === 9) await commit(w);
      }
      await w.close();
      const files = await listJournalFiles(dir);
      expect(files.length).toBeGreaterThan(2);
      const first = await readFile(files[0].path);
      first.fill(0x55, 5000, 6000);
      await writeFile(files[0].path, first);
      const { out } = await replayAll(dir, { fileId: 0, offset: 0 });
      expect(out.plan.corruption).toMatchObject({ fileId: 0 });
    });

    it('reuses trimmed files without mistaking their old frames for new ones', async () => {
      const dir = tempDir('jnl-');
      const recycled: string[] = [];
      const w = await openWriter(dir, 0, recycled, 64 * 1024);
      for (let i = 0; i < 300; i++) {
        w.appendEntry(entry(1, i, 1000));
        if (i % 10 === 9) await commit(w);
      }
      const mark = w.durableMark;
      await retireJournalFiles(dir, mark.fileId, recycled, 8);
      expect(recycled.length).toBeGreaterThan(0);
      for (let i = 300; i < 400; i++) {
        w.appendEntry(entry(2, i, 1000));
        if (i % 10 === 9) await commit(w);
      }
      await w.close();
      const { recs, out } = await replayAll(dir, mark);
      expect(recs.map((r) => (r as { entryId: number }).entryId)).toEqual(
        Array.from({ length: 100 }, (_, i) => 300 + i),
      );
      expect(out.plan.corruption).toBeUndefined();
    });

    it('refuses appends and commits once closed', async () => {
      const dir = tempDir('jnl-');
      const w = await openWriter(dir, 0);
      w.appendEntry(entry(1, 0));
      await commit(w);
      await w.close();
      expect(() => w.appendEntry(entry(1, 1))).toThrow(/SHUTTING_DOWN/);
      await expect(commit(w)).rejects.toThrow();
    });
  },
);
