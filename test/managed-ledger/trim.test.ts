/**
 * Trimming and cursor persistence on real bookies and etcd: only ledgers every durable cursor has
 * consumed (as persisted) and that retention no longer protects are deleted, from the list first
 * and then from the bookies; non-durable cursors hold nothing back; backlog/size accounting; and
 * cursor state is written at a bounded rate, not once per ack.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as keys from '../../lib/metadata/keys.ts';
import type { Position } from '../../services/broker/managed-ledger/api.ts';
import { stopAll } from '../harness/index.ts';
import {
  countingStore,
  enc,
  eventually,
  factoryOn,
  ledgersOnBookies,
  type MlCluster,
  startMlCluster,
} from './ml-cluster.ts';

let mc: MlCluster;
let n = 0;
const topic = () => `public/default/persistent/tr-${++n}`;
const small = { defaultMaxEntriesPerLedger: 5, defaultMinLedgerRolloverTimeMs: 0 };

beforeAll(async () => {
  // Bookies drop ledgers deleted from the metadata store quickly, so "gone from the bookies" is checkable.
  mc = await startMlCluster(inject('etcdEndpoint'), 2, [
    '--metadata-gc-interval-ms',
    '200',
    '--metadata-gc-grace-ms',
    '0',
  ]);
});
afterAll(async () => {
  await mc?.stop();
  await stopAll();
});

async function fill(append: (d: Uint8Array) => Promise<Position>, count: number): Promise<Position[]> {
  const ps: Position[] = [];
  for (let i = 0; i < count; i++) ps.push(await append(enc(`entry-${String(i).padStart(4, '0')}`)));
  return ps;
}

async function ledgerGone(id: number): Promise<boolean> {
  return (await mc.client.getLedgerMetadata(id)) === undefined;
}

describe('trimming', { concurrent: false }, () => {
  it('deletes only ledgers every durable cursor consumed (retention 0/0), list first, then bookies', async () => {
    const f = factoryOn(mc, { settings: small });
    const name = topic();
    const ml = await f.open(name);
    const slow = await ml.openCursor('slow', { initialPosition: 'Earliest' });
    const fast = await ml.openCursor('fast', { initialPosition: 'Earliest' });
    const reader = await ml.openCursor('reader', { initialPosition: 'Earliest', durable: false });
    const ps = await fill((d) => ml.append(d), 22); // ledgers of 5,5,5,5,2
    const ids = ml.ledgers.map((l) => l.ledgerId);
    expect(ids).toHaveLength(5);
    expect(ml.totalSizeBytes).toBe(22 * 10);
    expect(fast.getNumberOfEntriesInBacklog()).toBe(22);
    expect(fast.getEstimatedBacklogSizeBytes()).toBe(220);

    expect((await ledgersOnBookies(mc)).has(ids[0])).toBe(true);
    await fast.markDelete(ps[21]);
    await slow.markDelete(ps[8]); // inside the second ledger
    await slow.flush();
    await fast.flush();
    await ml.trimConsumedLedgers();
    expect(ml.ledgers.map((l) => l.ledgerId)).toEqual(ids.slice(1));
    expect(await ledgerGone(ids[0])).toBe(true);
    await eventually(async () => !(await ledgersOnBookies(mc)).has(ids[0]));
    expect((await f.getStoredInfo(name))?.ledgers.map((l) => l.ledgerId)).toEqual(ids.slice(1));
    for (const id of ids.slice(1)) expect(await ledgerGone(id)).toBe(false);
    // The non-durable reader held nothing back and was moved past the deleted ledger.
    expect(reader.readPosition).toEqual({ ledgerId: ids[1], entryId: 0 });
    expect(ml.totalSizeBytes).toBe(17 * 10);
    expect(slow.getNumberOfEntriesInBacklog()).toBe(13);

    // In-memory progress does not count until it is persisted.
    await slow.markDelete(ps[19]);
    await ml.trimConsumedLedgers();
    expect(ml.ledgers).toHaveLength(4);
    await slow.flush(); // persisting triggers trimming by itself
    await eventually(() => ml.ledgers.length === 1);
    await ml.trimConsumedLedgers(); // joins the running trim: its bookie deletions are done
    expect(ml.ledgers[0].ledgerId).toBe(ids[4]);
    for (const id of ids.slice(1, 4)) expect(await ledgerGone(id)).toBe(true);
    await eventually(async () => {
      const onBookies = await ledgersOnBookies(mc);
      return ids.slice(0, 4).every((id) => !onBookies.has(id)) && onBookies.has(ids[4]);
    });
    expect(ml.numberOfEntries).toBe(2);
    await f.shutdown();
    // The non-durable reader left nothing behind.
    expect(await mc.store.get(keys.cursor(mc.cluster, name, 'reader'))).toBeUndefined();
    expect([...((await f.getStoredInfo(name))?.cursorNames ?? [])].sort()).toEqual(['fast', 'slow']);
  });

  it('keeps consumed ledgers inside retention size, and all of them with -1', async () => {
    const f = factoryOn(mc, { settings: small });
    const bySize = await f.open(topic(), { retentionTimeMs: -1, retentionSizeBytes: 120 });
    const c = await bySize.openCursor('c', { initialPosition: 'Earliest' });
    const ps = await fill((d) => bySize.append(d), 21); // 5,5,5,5,1 ledgers of 50 bytes
    await c.markDelete(ps[20]);
    await c.flush();
    await bySize.trimConsumedLedgers();
    // 210 bytes: dropping 50-byte ledgers until <= 120 leaves 110 (two full ledgers + the current).
    expect(bySize.ledgers.map((l) => l.entries)).toEqual([5, 5, 1]);

    const forever = await f.open(topic(), { retentionTimeMs: -1, retentionSizeBytes: -1 });
    const c2 = await forever.openCursor('c', { initialPosition: 'Earliest' });
    const ps2 = await fill((d) => forever.append(d), 12);
    await c2.markDelete(ps2[11]);
    await c2.flush();
    await forever.trimConsumedLedgers();
    expect(forever.ledgers.map((l) => l.entries)).toEqual([5, 5, 2]);
    await f.shutdown();
  });

  it('keeps consumed ledgers for the retention time (injected clock), checked periodically', async () => {
    let now = Date.now();
    const f = factoryOn(mc, { settings: { ...small, retentionCheckIntervalMs: 100 }, now: () => now });
    const ml = await f.open(topic(), { retentionTimeMs: 60_000, retentionSizeBytes: -1 });
    const c = await ml.openCursor('c', { initialPosition: 'Earliest' });
    const ps = await fill((d) => ml.append(d), 11);
    await c.markDelete(ps[10]);
    await c.flush();
    await ml.trimConsumedLedgers();
    expect(ml.ledgers).toHaveLength(3);
    now += 61_000;
    await eventually(() => ml.ledgers.length === 1); // the periodic check trims
    await f.shutdown();
  });

  it('persists ack state at a bounded rate, not once per ack', async () => {
    const { store, writes } = countingStore(mc.store);
    const rate = 4; // at most one write per 250 ms per cursor
    const f = factoryOn(mc, { store, settings: { markDeleteRatePerSecond: rate } });
    const name = topic();
    const ml = await f.open(name);
    const c = await ml.openCursor('sub', { initialPosition: 'Earliest' });
    const ps = await fill((d) => ml.append(d), 400);
    const cursorKey = keys.cursor(mc.cluster, name, 'sub');
    const keyWrites0 = writes.keys.filter((k) => k === cursorKey).length;
    const ledgerWrites0 = c.stats().ledgerWrites;
    const started = Date.now();
    for (let i = 0; i < ps.length; i++) {
      await c.delete([ps[i]]);
      if (i % 40 === 39) await new Promise((r) => setTimeout(r, 30));
    }
    await c.flush();
    const elapsedMs = Date.now() - started;
    const ledgerWrites = c.stats().ledgerWrites - ledgerWrites0;
    const keyWrites = writes.keys.filter((k) => k === cursorKey).length - keyWrites0;
    // 400 acks: flushes go to the cursor ledger at most once per interval (+1 for the final
    // explicit flush); the key is written once, when the cursor ledger is created.
    expect(ledgerWrites).toBeGreaterThanOrEqual(1);
    expect(ledgerWrites).toBeLessThanOrEqual(Math.floor(elapsedMs / (1000 / rate)) + 2);
    expect(keyWrites).toBe(1);
    expect(c.markDeletePosition).toEqual(ps[399]);
    // Closing writes the small final state into the key (and drops the cursor ledger).
    await f.shutdown();
    expect(writes.keys.filter((k) => k === cursorKey).length - keyWrites0).toBe(2);
    const f2 = factoryOn(mc);
    expect((await f2.open(name)).getCursor('sub')?.markDeletePosition).toEqual(ps[399]);
    await f2.shutdown();
  });
});
