/**
 * Durability against real bookie processes: every acknowledged entry survives kill -9 at any
 * moment, and a torn/corrupt journal tail is cut on restart without losing an acknowledged entry.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Status } from '../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { encodeEnvelope } from '../../lib/ledger/envelope.ts';
import { payloadFor, type TestEntry } from '../../services/bookie/testing/client.ts';
import { stopAll } from '../harness/index.ts';
import { bookieDirs, startBookieProcess, verifyAcked, waitFor } from './helpers.ts';

afterAll(stopAll);

const NO_METADATA = ['--registration', 'false'];

describe('bookie durability (real processes, real fsync)', { concurrent: false }, () => {
  it('keeps every acknowledged entry of 100k pipelined adds across a kill -9 mid-stream', async () => {
    const dirs = bookieDirs();
    const extra = [
      ...NO_METADATA,
      '--checkpoint-interval-ms',
      '300',
      '--write-cache-max-bytes',
      String(8 << 20),
    ];
    const b = await startBookieProcess('dur-1', dirs, extra);
    const LEDGERS = 100;
    const TOTAL = 100_000;
    const BATCH = 100;
    const bytesOf = (l: number, e: number) => 64 + ((l * 7 + e) % 200);
    const acked = new Map<number, Set<number>>();
    const nextEntry = new Array(LEDGERS).fill(0);
    const session = b.client.openAddSession();
    let sent = 0;
    let ackedCount = 0;
    let killed = false;
    const inFlight = new Set<Promise<void>>();
    while (sent < TOTAL) {
      const batch: TestEntry[] = [];
      for (let i = 0; i < BATCH; i++, sent++) {
        const ledgerId = 1000 + (sent % LEDGERS);
        const entryId = nextEntry[ledgerId - 1000]++;
        batch.push({ ledgerId, entryId, payload: payloadFor(ledgerId, entryId, bytesOf(ledgerId, entryId)) });
      }
      const p = session.add(batch).then(
        (results) => {
          for (const r of results) {
            if (r.status !== Status.OK) continue;
            const l = Number(r.ledgerId);
            let set = acked.get(l);
            if (!set) acked.set(l, (set = new Set()));
            set.add(Number(r.entryId));
            ackedCount++;
          }
        },
        () => {},
      );
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      if (inFlight.size >= 50) await Promise.race(inFlight);
      if (!killed && ackedCount >= 70_000) {
        killed = true;
        await b.proc.kill('SIGKILL');
        break;
      }
    }
    await Promise.allSettled(inFlight);
    expect(killed).toBe(true);
    expect(ackedCount).toBeGreaterThanOrEqual(70_000);
    b.client.close();

    const b2 = await startBookieProcess('dur-1', dirs, extra);
    const checked = await verifyAcked(b2, acked, bytesOf);
    expect(checked).toBe(ackedCount);
    // Still writable after the restart, and the restart itself is repeatable.
    const again = b2.client.openAddSession();
    const res = await again.add([
      { ledgerId: 1000, entryId: nextEntry[0] + 10, payload: Buffer.from('after restart') },
    ]);
    expect(res[0].status).toBe(Status.OK);
    await again.end();
    await b2.stop('SIGKILL');
    const b3 = await startBookieProcess('dur-1', dirs, extra);
    expect(await verifyAcked(b3, acked, bytesOf)).toBe(ackedCount);
    await b3.stop();
  });

  it('cuts a torn and garbage-filled journal tail on restart and loses no acknowledged entry', async () => {
    const dirs = bookieDirs();
    const extra = [...NO_METADATA, '--checkpoint-interval-ms', '3600000'];
    const b = await startBookieProcess('dur-2', dirs, extra);
    const session = b.client.openAddSession();
    const acked = new Map<number, Set<number>>([[5, new Set()]]);
    for (let batch = 0; batch < 20; batch++) {
      const entries = Array.from({ length: 50 }, (_, i) => ({
        ledgerId: 5,
        entryId: batch * 50 + i,
        payload: payloadFor(5, batch * 50 + i, 300),
      }));
      const results = await session.add(entries);
      for (const r of results) if (r.status === Status.OK) acked.get(5)!.add(Number(r.entryId));
    }
    expect(acked.get(5)!.size).toBe(1000);
    await b.proc.kill('SIGKILL');
    b.client.close();

    // Find where the journal's valid data ends and write a torn frame plus garbage there.
    const files = (await readdir(dirs.journalDir)).filter((n) => n.startsWith('journal-')).sort();
    const { scanFrames } = await import('../../services/bookie/journal/frame.ts');
    let target = '';
    let end = 0;
    for (const name of files) {
      const path = join(dirs.journalDir, name);
      const fh = await open(path, 'r');
      const buf = Buffer.alloc((await stat(path)).size);
      await fh.read(buf, 0, buf.length, 0);
      await fh.close();
      const res = scanFrames(buf, Number.parseInt(name.slice(8, 24), 16), 2 << 20);
      if (res.frames.length > 0) {
        target = path;
        end = res.end;
      }
    }
    expect(target).not.toBe('');
    const fileId = Number.parseInt(target.split('journal-')[1].slice(0, 16), 16);
    const { encodeFrame } = await import('../../services/bookie/journal/frame.ts');
    const torn = encodeFrame(
      fileId,
      1,
      encodeEnvelope(
        { ledgerId: 5, entryId: 1000, lastAddConfirmed: 999, length: 0 },
        payloadFor(5, 1000, 2000),
      ),
    );
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256));
    const fh = await open(target, 'r+');
    await fh.write(
      Buffer.concat([torn.subarray(0, torn.length - 500), garbage]),
      0,
      torn.length - 500 + garbage.length,
      end,
    );
    await fh.close();

    const b2 = await startBookieProcess('dur-2', dirs, extra);
    await waitFor('the truncation log line', () => /journal tail truncated/.test(b2.proc.logs()));
    expect(await verifyAcked(b2, acked, () => 300)).toBe(1000);
    const missing = await b2.client.readEntry({ ledgerId: 5n, entryId: 1000n });
    expect(missing.status).toBe(Status.NO_ENTRY);
    // The cut is final: new adds work and another crash + restart stays clean.
    const s2 = b2.client.openAddSession();
    const r = await s2.add([{ ledgerId: 5, entryId: 1000, payload: payloadFor(5, 1000, 300) }]);
    expect(r[0].status).toBe(Status.OK);
    acked.get(5)!.add(1000);
    await b2.proc.kill('SIGKILL');
    b2.client.close();
    const b3 = await startBookieProcess('dur-2', dirs, extra);
    expect(b3.proc.logs()).not.toMatch(/journal lost records/);
    expect(await verifyAcked(b3, acked, () => 300)).toBe(1001);
    await b3.stop();
  });
});
