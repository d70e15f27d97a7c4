/**
 * Cursor state survives reloads exactly: after a clean close (state in the cursor key), after a
 * SIGKILL of the owning process (state in the cursor ledger, recovered with fencing), beyond the
 * key's range limit, with the persisted-range bound, and with an unrecoverable cursor ledger
 * (fallback to the key's copy).
 */
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ManagedCursorInfoSchema } from '../../lib/gen/magnetar/ml/v1/ml_pb.ts';
import * as keys from '../../lib/metadata/keys.ts';
import type { ManagedCursor, Position } from '../../services/broker/managed-ledger/api.ts';
import { spawnProcess, stopAll } from '../harness/index.ts';
import { dec, enc, factoryOn, type MlCluster, startMlCluster } from './ml-cluster.ts';

let mc: MlCluster;
let n = 0;
const topic = () => `public/default/persistent/cr-${++n}`;

beforeAll(async () => {
  mc = await startMlCluster(inject('etcdEndpoint'), 2);
});
afterAll(async () => {
  await mc?.stop();
  await stopAll();
});

function stateOf(c: ManagedCursor, probes: Position[]) {
  return {
    markDelete: c.markDeletePosition,
    ranges: c.individuallyDeletedRanges(),
    batch: probes.map((p) => c.ackedBatchIndexes(p) ?? null),
    properties: c.properties,
    cursorProperties: c.cursorProperties,
    backlog: c.getNumberOfEntriesInBacklog(),
  };
}

async function cursorLedgerOf(name: string, cursor: string): Promise<number> {
  const e = await mc.store.get(keys.cursor(mc.cluster, name, cursor));
  return Number(fromBinary(ManagedCursorInfoSchema, e!.value).cursorLedgerId);
}

describe('cursor recovery', { concurrent: false }, () => {
  it('restores mark-delete, holes, batch acks and properties exactly after a clean close', async () => {
    const f = factoryOn(mc, {
      settings: { defaultMaxEntriesPerLedger: 20, defaultMinLedgerRolloverTimeMs: 0 },
    });
    const name = topic();
    const ml = await f.open(name);
    const ps: Position[] = [];
    for (let i = 0; i < 50; i++) ps.push(await ml.append(enc(`e${i}`)));
    const c = await ml.openCursor('sub', { initialPosition: 'Earliest', cursorProperties: { a: '1' } });
    await c.markDelete(ps[4], { 'producer-1': 17n });
    await c.delete([ps[6], ps[7], ps[19], ps[20], ps[33]]);
    await c.deleteBatchIndexes(ps[8], 5, [0, 4]);
    await c.deleteBatchIndexes(ps[40], 3, [2]);
    await c.setCursorProperties({ a: '2', b: 'x' });
    const before = stateOf(c, [ps[8], ps[40]]);
    // 6-7, 19 (last of ledger 1), 20 (first of ledger 2: ranges never span ledgers), 33
    expect(before.ranges).toHaveLength(4);
    await f.shutdown();
    expect(await cursorLedgerOf(name, 'sub')).toBe(-1); // small state: the key alone holds it
    const f2 = factoryOn(mc);
    const again = (await f2.open(name)).getCursor('sub')!;
    expect(stateOf(again, [ps[8], ps[40]])).toEqual(before);
    const next = await again.readEntries(3);
    expect(next.map((e) => dec(e.data))).toEqual(['e5', 'e8', 'e9']);

    // Reset (persisted at once), skip and clear-backlog, and a time-style search on payloads.
    const found = await again.findNewestMatching((e) => Number(dec(e.data).slice(1)) <= 30);
    expect(found).toEqual(ps[30]);
    await again.resetCursor(ps[30]);
    expect(again.markDeletePosition).toEqual({ ledgerId: ps[30].ledgerId, entryId: ps[30].entryId - 1 });
    expect(again.individuallyDeletedRanges()).toEqual([]);
    expect(again.getNumberOfEntriesInBacklog()).toBe(20);
    await f2.shutdown();
    const f3 = factoryOn(mc);
    const reset = (await f3.open(name)).getCursor('sub')!;
    expect(reset.getNumberOfEntriesInBacklog()).toBe(20);
    expect((await reset.readEntries(1)).map((e) => dec(e.data))).toEqual(['e30']);
    await reset.skipEntries(5);
    expect(reset.markDeletePosition).toEqual(ps[34]);
    await reset.clearBacklog();
    expect(reset.getNumberOfEntriesInBacklog()).toBe(0);
    await f3.shutdown();
  });

  it('keeps large ack state in the cursor ledger, bounded by maxAckRangesToPersist', async () => {
    const settings = { maxAckRangesInKey: 10, maxAckRangesToPersist: 40 };
    const f = factoryOn(mc, { settings });
    const name = topic();
    const ml = await f.open(name);
    const ps: Position[] = [];
    for (let i = 0; i < 200; i++) ps.push(await ml.append(enc(`e${i}`)));
    const c = await ml.openCursor('sub', { initialPosition: 'Earliest' });
    await c.delete(ps.filter((_, i) => i % 2 === 1)); // 100 holes
    expect(c.individuallyDeletedRanges()).toHaveLength(100);
    const all = c.individuallyDeletedRanges();
    await f.shutdown();
    expect(await cursorLedgerOf(name, 'sub')).toBeGreaterThanOrEqual(0);
    const f2 = factoryOn(mc, { settings });
    const again = (await f2.open(name)).getCursor('sub')!;
    // The first 40 ranges survive; acks beyond them are redelivered, never lost data.
    expect(again.individuallyDeletedRanges()).toEqual(all.slice(0, 40));
    expect(again.getNumberOfEntriesInBacklog()).toBe(200 - 40);
    await f2.shutdown();
  });

  it('falls back to the key copy when the cursor ledger cannot be recovered', async () => {
    const settings = { maxAckRangesInKey: 2, markDeleteRatePerSecond: 0.001 };
    const f = factoryOn(mc, { settings });
    const name = topic();
    const ml = await f.open(name);
    const ps: Position[] = [];
    for (let i = 0; i < 20; i++) ps.push(await ml.append(enc(`e${i}`)));
    const c = await ml.openCursor('sub', { initialPosition: 'Earliest' });
    await c.markDelete(ps[2]);
    await c.delete([ps[5], ps[7], ps[9]]); // 3 ranges > 2: the flush goes to a new cursor ledger
    await c.flush(); // key now points at the ledger and carries a copy (bounded to 2 ranges)
    await c.markDelete(ps[12]);
    await c.flush(); // only in the cursor ledger
    const ledgerId = await cursorLedgerOf(name, 'sub');
    // The owner "crashes" (never closes) and its cursor ledger is lost.
    await mc.client.deleteLedger(ledgerId);
    const f2 = factoryOn(mc, { settings });
    const again = (await f2.open(name)).getCursor('sub')!;
    expect(again.markDeletePosition).toEqual(ps[2]);
    expect(again.individuallyDeletedRanges()).toEqual([
      { from: ps[5], to: ps[5] },
      { from: ps[7], to: ps[7] },
    ]);
    await expect(ml.append(enc('old owner'))).rejects.toMatchObject({ code: 'MANAGED_LEDGER_FENCED' });
    await f2.shutdown();
    await f.shutdown();
  });

  it('restores exactly what the owner flushed after it was SIGKILLed, and keeps every confirmed entry', async () => {
    const name = topic();
    const owner = spawnProcess({
      name: 'ml-owner',
      args: [join(import.meta.dirname, 'owner-process.ts'), mc.rc.metadataUrl, mc.cluster, name],
    });
    const flushedLine = await owner.waitForOutput(/"event":"flushed"/, 40_000);
    const flushed = JSON.parse(flushedLine);
    // Let it confirm (and ack, unflushed) a few more entries, then kill it mid-stream.
    await owner.waitForOutput(/"event":"confirmed","i":170/, 30_000);
    await owner.kill('SIGKILL');
    const confirmed = owner
      .logs()
      .split('\n')
      .filter((l) => l.includes('"event":"confirmed"'))
      .map((l) => JSON.parse(l) as { i: number; ledgerId: number; entryId: number });

    const f = factoryOn(mc);
    const ml = await f.open(name);
    const sub = ml.getCursor('sub')!;
    expect(sub.markDeletePosition).toEqual(flushed.sub.markDelete);
    expect(sub.individuallyDeletedRanges()).toEqual(flushed.sub.ranges);
    expect(sub.ackedBatchIndexes(flushed.sub.positions.p15)).toEqual(flushed.sub.batch15);
    expect(sub.ackedBatchIndexes(flushed.sub.positions.p100)).toEqual(flushed.sub.batch100);
    expect(sub.cursorProperties).toEqual({ owner: 'child' });
    const dedup = ml.getCursor('pulsar.dedup')!;
    expect(dedup.markDeletePosition).toEqual(flushed.dedup.markDelete);
    expect(dedup.properties).toEqual({ 'producer-a': 149n, 'producer-b': 7n });
    // Every entry the owner was told is confirmed is there, with its payload.
    expect(confirmed.length).toBeGreaterThan(20);
    const reader = await ml.openCursor('check', { initialPosition: 'Earliest', durable: false });
    const byPosition = new Map<string, string>();
    for (let batch = await reader.readEntries(500); batch.length > 0; batch = await reader.readEntries(500))
      for (const e of batch) byPosition.set(`${e.position.ledgerId}:${e.position.entryId}`, dec(e.data));
    expect(byPosition.size).toBeGreaterThanOrEqual(150 + confirmed.length);
    for (const c of confirmed) expect(byPosition.get(`${c.ledgerId}:${c.entryId}`)).toBe(`entry-${c.i}`);
    // The new owner writes on.
    const p = await ml.append(enc('new owner'));
    expect(p.ledgerId).toBeGreaterThan(confirmed[confirmed.length - 1].ledgerId);
    await f.shutdown();
  });
});
