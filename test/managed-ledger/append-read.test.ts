/**
 * Managed ledger on real bookies and etcd: ordered appends and reads across rollovers, the cache
 * path for tailing readers versus bookie reads with bounded read-ahead for catch-up readers,
 * age-based rollover, terminate, delete, and coded errors for bad input.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LedgerState } from '../../lib/gen/magnetar/meta/v1/meta_pb.ts';
import * as keys from '../../lib/metadata/keys.ts';
import { comparePositions, type Position } from '../../services/broker/managed-ledger/api.ts';
import { stopAll } from '../harness/index.ts';
import {
  countingClient,
  dec,
  enc,
  eventually,
  factoryOn,
  type MlCluster,
  startMlCluster,
} from './ml-cluster.ts';

let mc: MlCluster;
let n = 0;
const topic = () => `public/default/persistent/ar-${++n}`;

beforeAll(async () => {
  mc = await startMlCluster(inject('etcdEndpoint'), 2);
});
afterAll(async () => {
  await mc?.stop();
  await stopAll();
});

describe('managed ledger on real bookies', { concurrent: false }, () => {
  it('appends in order and reads everything back across rollovers', async () => {
    const f = factoryOn(mc, {
      settings: { defaultMaxEntriesPerLedger: 10, defaultMinLedgerRolloverTimeMs: 0 },
    });
    const ml = await f.open(topic());
    const positions = await Promise.all(Array.from({ length: 35 }, (_, i) => ml.append(enc(`m${i}`))));
    for (let i = 1; i < positions.length; i++)
      expect(comparePositions(positions[i - 1], positions[i])).toBeLessThan(0);
    expect(ml.ledgers.map((l) => l.entries)).toEqual([10, 10, 10, 5]);
    expect(ml.numberOfEntries).toBe(35);
    expect(ml.totalSizeBytes).toBe(positions.reduce((s, _, i) => s + `m${i}`.length, 0));
    const direct = await ml.readEntries(ml.firstPosition, { maxEntries: 100 });
    expect(direct.map((e) => dec(e.data))).toEqual(positions.map((_, i) => `m${i}`));
    const cursor = await ml.openCursor('all', { initialPosition: 'Earliest' });
    const seen: string[] = [];
    for (let batch = await cursor.readEntries(7); batch.length > 0; batch = await cursor.readEntries(7))
      seen.push(...batch.map((e) => dec(e.data)));
    expect(seen).toEqual(positions.map((_, i) => `m${i}`));
    // Closed ledgers are sealed in the ledger metadata with their exact entry count.
    for (const l of ml.ledgers.slice(0, 3)) {
      const md = await mc.client.getLedgerMetadata(l.ledgerId);
      expect(md?.state).toBe(LedgerState.CLOSED);
      expect(Number(md?.lastEntryId)).toBe(9);
    }
    await f.shutdown();
  });

  it('serves tailing readers from the cache and catch-up readers from bookies with bounded read-ahead', async () => {
    const { client, counter } = countingClient(mc.client);
    const settings = { readAheadEntries: 25, readAheadMaxBytes: 1024 * 1024 };
    const f = factoryOn(mc, { client, settings });
    const name = topic();
    const ml = await f.open(name);
    const tail = await ml.openCursor('tail', { initialPosition: 'Latest' });
    const got: string[] = [];
    for (let i = 0; i < 50; i++) {
      const waiting = tail.readEntriesOrWait(10);
      await ml.append(enc(`t${i}`));
      got.push(...(await waiting).map((e) => dec(e.data)));
    }
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `t${i}`));
    expect(counter.bookieReads).toBe(0);
    expect(f.cacheStats().misses).toBe(0);
    await f.shutdown();

    // A new broker has an empty cache: a reader from the start goes to the bookies, 25 entries a time.
    const f2 = factoryOn(mc, { client, settings });
    const ml2 = await f2.open(name);
    const catchUp = await ml2.openCursor('catch-up', { initialPosition: 'Earliest' });
    const reads0 = counter.bookieReads;
    const again: string[] = [];
    for (let batch = await catchUp.readEntries(10); batch.length > 0; batch = await catchUp.readEntries(10))
      again.push(...batch.map((e) => dec(e.data)));
    expect(again).toEqual(got);
    expect(counter.bookieReads - reads0).toBe(2);
    await f2.shutdown();

    // Read-ahead is bounded by bytes too: 1000-byte entries, 10 000 bytes per bookie read.
    const f3 = factoryOn(mc, { client, settings: { readAheadEntries: 100, readAheadMaxBytes: 10_000 } });
    const ml3 = await f3.open(topic());
    for (let i = 0; i < 30; i++) await ml3.append(new Uint8Array(1000).fill(i));
    await f3.shutdown();
    const f4 = factoryOn(mc, { client, settings: { readAheadEntries: 100, readAheadMaxBytes: 10_000 } });
    const ml4 = await f4.open(ml3.name);
    const reads1 = counter.bookieReads;
    const entries = await ml4.readEntries(ml4.firstPosition, { maxEntries: 30 });
    expect(entries).toHaveLength(30);
    expect(entries.every((e, i) => e.data[0] === i && e.data.byteLength === 1000)).toBe(true);
    expect(counter.bookieReads - reads1).toBe(3);
    await f4.shutdown();
  });

  it('rolls by size, and shares one bounded cache across topics', async () => {
    const f = factoryOn(mc, { settings: { cacheMaxSizeBytes: 20_000, cacheEvictionWatermark: 0.5 } });
    const bySize = await f.open(topic(), { maxSizePerLedgerBytes: 100, minLedgerRolloverTimeMs: 0 });
    for (let i = 0; i < 10; i++) await bySize.append(new Uint8Array(30).fill(i));
    expect(bySize.ledgers.map((l) => l.entries)).toEqual([4, 4, 2]);
    const other = await f.open(topic());
    for (let i = 0; i < 40; i++) {
      await other.append(new Uint8Array(1000).fill(i));
      expect(f.cacheStats().sizeBytes).toBeLessThanOrEqual(20_000);
    }
    const stats = f.cacheStats();
    expect(stats.evictedBytes).toBeGreaterThan(0);
    // The oldest entries (the first topic's) went first; the newest are still cached.
    const newest = await other.readEntries(other.lastConfirmedPosition, { maxEntries: 1 });
    expect(newest[0].data[0]).toBe(39);
    expect(f.cacheStats().hits).toBe(stats.hits + 1);
    await f.shutdown();
  });

  it('rolls a non-empty ledger by age and leaves an idle one alone', async () => {
    const f = factoryOn(mc, { settings: { rolloverCheckIntervalMs: 50, rolloverJitterFraction: 0.05 } });
    const ml = await f.open(topic(), { maxLedgerRolloverTimeMs: 200 });
    const first = await ml.append(enc('a'));
    await eventually(() => ml.ledgers.length === 2);
    const sealed = await mc.client.getLedgerMetadata(first.ledgerId);
    expect(sealed?.state).toBe(LedgerState.CLOSED);
    // The new ledger is empty: it never rolls by age.
    const currentId = ml.ledgers[1].ledgerId;
    await new Promise((r) => setTimeout(r, 400));
    expect(ml.ledgers.map((l) => l.ledgerId)).toEqual([first.ledgerId, currentId]);
    const p = await ml.append(enc('b'));
    expect(p.ledgerId).toBe(currentId);
    await f.shutdown();
  });

  it('terminate fixes the last position for good', async () => {
    const f = factoryOn(mc);
    const name = topic();
    const ml = await f.open(name);
    const cursor = await ml.openCursor('c', { initialPosition: 'Earliest' });
    for (let i = 0; i < 3; i++) await ml.append(enc(`x${i}`));
    const last = await ml.terminate();
    expect(ml.state).toBe('Terminated');
    expect(last).toEqual(ml.lastConfirmedPosition);
    await expect(ml.append(enc('late'))).rejects.toMatchObject({ code: 'MANAGED_LEDGER_TERMINATED' });
    expect(await ml.terminate()).toEqual(last);
    expect((await cursor.readEntries(10)).map((e) => dec(e.data))).toEqual(['x0', 'x1', 'x2']);
    // Caught up on a terminated topic: no waiting.
    expect(await cursor.readEntriesOrWait(10)).toEqual([]);
    await f.shutdown();
    const f2 = factoryOn(mc);
    const again = await f2.open(name);
    expect(again.state).toBe('Terminated');
    expect(again.lastConfirmedPosition).toEqual(last);
    await expect(again.append(enc('late'))).rejects.toMatchObject({ code: 'MANAGED_LEDGER_TERMINATED' });
    await f2.shutdown();
  });

  it('delete removes every ledger, cursor ledger and key', async () => {
    const f = factoryOn(mc, {
      settings: { defaultMaxEntriesPerLedger: 3, defaultMinLedgerRolloverTimeMs: 0 },
    });
    const name = topic();
    const ml = await f.open(name);
    const cursor = await ml.openCursor('sub', { initialPosition: 'Earliest' });
    const ps: Position[] = [];
    for (let i = 0; i < 7; i++) ps.push(await ml.append(enc(`d${i}`)));
    await cursor.delete([ps[1], ps[3]]);
    await cursor.flush(); // creates the cursor ledger
    const cursorKey = await mc.store.get(keys.cursor(mc.cluster, name, 'sub'));
    expect(cursorKey).toBeDefined();
    const ledgerIds = ml.ledgers.map((l) => l.ledgerId);
    const allLedgers = await mc.store.listAll(keys.ledgersPrefix(mc.cluster), { keysOnly: true });
    const cursorLedgers = allLedgers
      .map((e) => keys.parseLedgerKey(e.key)?.ledgerId)
      .filter((id): id is number => id !== undefined && !ledgerIds.includes(id));
    const ours: number[] = [];
    for (const id of cursorLedgers) {
      const md = await mc.client.getLedgerMetadata(id);
      if (md?.customMetadata['managed-ledger'] === name) ours.push(id);
    }
    expect(ours.length).toBeGreaterThan(0);
    await ml.delete();
    expect(ml.state).toBe('Deleted');
    for (const id of [...ledgerIds, ...ours]) expect(await mc.client.getLedgerMetadata(id)).toBeUndefined();
    await expect(
      mc.client.openLedger(ledgerIds[0], { recovery: false, password: enc('x') }),
    ).rejects.toMatchObject({
      code: 'NO_SUCH_LEDGER',
    });
    expect(await mc.store.get(keys.managedLedger(mc.cluster, name))).toBeUndefined();
    expect(await mc.store.listAll(keys.cursorsPrefix(mc.cluster, name))).toEqual([]);
    expect(await f.exists(name)).toBe(false);
    await f.shutdown();
  });

  it('answers bad input with coded errors', async () => {
    const f = factoryOn(mc, { settings: { maxEntrySizeBytes: 100, maxPendingAppends: 5 } });
    await expect(f.open('')).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(f.open(topic(), { writeQuorum: 2, ackQuorum: 3 })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
    const ml = await f.open(topic());
    await expect(ml.append(new Uint8Array(101))).rejects.toMatchObject({ code: 'ENTRY_TOO_LARGE' });
    const burst = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => ml.append(enc(`b${i}`))));
    const rejected = burst.filter((r) => r.status === 'rejected');
    expect(rejected.length).toBe(5);
    expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'TOO_MANY_PENDING_APPENDS' });
    const c = await ml.openCursor('c');
    await expect(
      c.markDelete({ ledgerId: ml.lastConfirmedPosition.ledgerId + 1, entryId: 0 }),
    ).rejects.toMatchObject({
      code: 'INVALID_POSITION',
    });
    await expect(ml.deleteCursor('nope')).rejects.toMatchObject({ code: 'CURSOR_NOT_FOUND' });
    const waiting = c.readEntriesOrWait(1);
    await expect(c.readEntriesOrWait(1)).rejects.toMatchObject({ code: 'CONCURRENT_WAIT' });
    expect(c.cancelPendingRead()).toBe(true);
    expect(await waiting).toEqual([]);
    await f.shutdown();
    await expect(ml.append(enc('closed'))).rejects.toMatchObject({ code: 'MANAGED_LEDGER_CLOSED' });
    await expect(f.open(topic())).rejects.toMatchObject({ code: 'FACTORY_SHUT_DOWN' });
  });
});
