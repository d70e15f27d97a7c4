/** Read-only mode by disk usage, and space reclaimed by compaction while reads go on (real processes). */
import { rename, statfs, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BookieState, Status } from '../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { envelopeFor, payloadFor } from '../../services/bookie/testing/client.ts';
import { stopAll, tempDir } from '../harness/index.ts';
import { bookieDirs, startBookieProcess, waitFor } from './helpers.ts';

afterAll(stopAll);

const NO_METADATA = ['--registration', 'false'];

async function entryLogBytes(dir: string): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir)) {
    if (!name.startsWith('entrylog-')) continue;
    n += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size; // may be deleted meanwhile
  }
  return n;
}

/** Replace the probe file atomically: the bookie never reads a half-written figure. */
async function setUsage(probe: string, usage: string): Promise<void> {
  await writeFile(`${probe}.tmp`, usage);
  await rename(`${probe}.tmp`, probe);
}

/** Entries the bookie's checkpoints have written to entry logs so far (its metric). */
async function checkpointedEntries(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = /^magnetar_bookie_checkpoint_entries_total\{[^}]*\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

describe('disk usage and space reclamation (real processes)', { concurrent: false }, () => {
  it('reports real statfs figures by default', async () => {
    const dirs = bookieDirs();
    const b = await startBookieProcess('disk-0', dirs, NO_METADATA);
    const info = await b.client.info();
    const fs = await statfs(dirs.ledgerDir);
    const total = fs.blocks * fs.bsize;
    expect(Number(info.totalDiskBytes)).toBe(total);
    expect(Number(info.freeDiskBytes)).toBeGreaterThan(0);
    expect(Number(info.freeDiskBytes)).toBeLessThanOrEqual(total);
    expect(info.state).toBe(BookieState.WRITABLE);
    const metrics = await (await fetch(`http://127.0.0.1:${b.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/magnetar_bookie_read_only\{[^}]*\} 0/);
    await b.stop();
  });

  it('turns read-only above the threshold, keeps serving reads and recovery adds, and turns back below the low-water mark', async () => {
    const probe = join(tempDir('probe-'), 'usage');
    await setUsage(probe, '0.10');
    const b = await startBookieProcess('disk-1', bookieDirs(), [
      ...NO_METADATA,
      '--disk-usage-probe-file',
      probe,
      '--disk-check-interval-ms',
      '50',
      '--disk-usage-threshold',
      '0.95',
      '--disk-usage-lwm-threshold',
      '0.90',
    ]);
    const s = b.client.openAddSession();
    const add = (entryId: number, recovery = false) =>
      s
        .add([{ ledgerId: 1, entryId, payload: payloadFor(1, entryId, 50), recovery }])
        .then((r) => r[0].status);
    expect(await add(0)).toBe(Status.OK);
    await setUsage(probe, '0.97');
    await waitFor('read-only', async () => (await b.client.info()).state === BookieState.READ_ONLY);
    expect(await add(1)).toBe(Status.READ_ONLY);
    expect(await add(1, true)).toBe(Status.OK);
    expect((await b.client.readEntry({ ledgerId: 1n, entryId: 0n })).status).toBe(Status.OK);
    await setUsage(probe, '0.92'); // between the marks: stays read-only
    await new Promise((r) => setTimeout(r, 300));
    expect((await b.client.info()).state).toBe(BookieState.READ_ONLY);
    expect(await add(2)).toBe(Status.READ_ONLY);
    await setUsage(probe, '0.50');
    await waitFor('writable', async () => (await b.client.info()).state === BookieState.WRITABLE);
    expect(await add(2)).toBe(Status.OK);
    await s.end();
    await b.stop();
  });

  it('reclaims the space of deleted ledgers by compaction while reads of a live ledger continue', async () => {
    const dirs = bookieDirs();
    const b = await startBookieProcess('disk-2', dirs, [
      ...NO_METADATA,
      '--entry-log-max-bytes',
      String(256 * 1024),
      '--max-entry-bytes',
      String(64 * 1024),
      '--read-cache-max-bytes',
      '0',
      '--checkpoint-interval-ms',
      '100',
      '--gc-interval-ms',
      '200',
      '--gc-minor-interval-ms',
      '200',
      '--gc-minor-threshold',
      '0.5',
    ]);
    const s = b.client.openAddSession();
    const LIVE = 1;
    const DEAD = [2, 3, 4, 5];
    for (let round = 0; round < 40; round++) {
      const batch = [LIVE, ...DEAD].flatMap((l) =>
        Array.from({ length: 10 }, (_, i) => ({
          ledgerId: l,
          entryId: round * 10 + i,
          payload: payloadFor(l, round * 10 + i, 1000),
        })),
      );
      expect((await s.add(batch)).every((r) => r.status === Status.OK)).toBe(true);
      // Each round gets its own checkpoint: a checkpoint writes its entries sorted by ledger, so
      // one checkpoint of everything would give logs of one ledger each (deleted whole, never
      // compacted). Round by round, every 256 KiB log mixes the live ledger (1/5) with the dead.
      const flushed = (round + 1) * batch.length;
      await waitFor('round checkpointed', async () => (await checkpointedEntries(b.httpPort)) >= flushed);
    }
    await waitFor(
      'entries flushed to entry logs',
      async () => (await entryLogBytes(dirs.ledgerDir)) > 1_800_000,
    );
    const before = await entryLogBytes(dirs.ledgerDir);
    let reads = 0;
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        const res = await b.client.readRange({ ledgerId: BigInt(LIVE), firstEntryId: 0n, maxEntries: 400 });
        expect(res.status).toBe(Status.OK);
        expect(res.bodies).toHaveLength(400);
        res.bodies.forEach((body, e) => {
          expect(Buffer.from(body).equals(envelopeFor(LIVE, e, payloadFor(LIVE, e, 1000)))).toBe(true);
        });
        reads++;
      }
    })();
    try {
      for (const l of DEAD) expect((await b.client.deleteLedger(l)).status).toBe(Status.OK);
      await waitFor(
        'space reclaimed',
        async () => (await entryLogBytes(dirs.ledgerDir)) < before * 0.4,
        30_000,
      );
    } finally {
      stop = true;
      await reader;
    }
    expect(reads).toBeGreaterThan(0);
    const metrics = await (await fetch(`http://127.0.0.1:${b.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/magnetar_bookie_gc_logs_total\{[^}]*action="compacted"[^}]*\} [1-9]/);
    // Everything live is still there after a restart.
    await s.end();
    await b.stop();
    const b2 = await startBookieProcess('disk-2', dirs, NO_METADATA);
    const res = await b2.client.readRange({ ledgerId: BigInt(LIVE), firstEntryId: 0n, maxEntries: 1000 });
    expect(res.bodies).toHaveLength(400);
    expect((await b2.client.readEntry({ ledgerId: 3n, entryId: 0n })).status).toBe(Status.NO_LEDGER);
    await b2.stop();
  });
});
