/**
 * Single-writer safety and add errors, on real bookies and etcd: two managed-ledger instances
 * (separate ledger clients, as two brokers) racing on one topic, and a bookie dying under a
 * ledger that needs it (the appends wait and land, in order, on a new ledger).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LedgerState } from '../../lib/gen/magnetar/meta/v1/meta_pb.ts';
import type { Position } from '../../services/broker/managed-ledger/api.ts';
import { stopAll } from '../harness/index.ts';
import { connectClient } from '../ledger/real-cluster.ts';
import { dec, enc, eventually, factoryOn, type MlCluster, startMlCluster } from './ml-cluster.ts';

let mc: MlCluster;
let n = 0;
const topic = () => `public/default/persistent/fe-${++n}`;

beforeAll(async () => {
  mc = await startMlCluster(inject('etcdEndpoint'), 2);
});
afterAll(async () => {
  await mc?.stop();
  await stopAll();
});

describe('fencing and add errors', { concurrent: false }, () => {
  it('a second owner fences the first: its appends fail and no confirmed entry is lost', async () => {
    const clientB = await connectClient(mc.rc, mc.store);
    const settings = { defaultMaxEntriesPerLedger: 25, defaultMinLedgerRolloverTimeMs: 0 };
    const fA = factoryOn(mc, { settings });
    const fB = factoryOn(mc, { settings, client: clientB });
    const name = topic();
    const a = await fA.open(name);
    const aCursor = await a.openCursor('sub', { initialPosition: 'Earliest' });
    const confirmed: { p: Position; body: string }[] = [];
    const failures: string[] = [];
    let sent = 0;
    let bOpened = false;
    const producer = (async () => {
      const window: Promise<void>[] = [];
      while (a.state === 'Open' && sent < 5000) {
        const body = `a${sent++}`;
        window.push(
          a.append(enc(body)).then(
            (p) => void confirmed.push({ p, body }),
            (err) => void failures.push((err as { code: string }).code),
          ),
        );
        if (window.length >= 16) await window.shift();
        if (bOpened && failures.length > 0) break;
      }
      await Promise.all(window);
    })();
    await eventually(() => confirmed.length >= 60);
    const b = await fB.open(name);
    bOpened = true;
    await producer;
    expect(a.state).toBe('Fenced');
    expect(new Set(failures)).toEqual(new Set(['MANAGED_LEDGER_FENCED']));
    await expect(a.append(enc('late'))).rejects.toMatchObject({ code: 'MANAGED_LEDGER_FENCED' });
    // The old owner's cursor writes are refused too.
    await expect(aCursor.markDelete(confirmed[5].p).then(() => aCursor.flush())).rejects.toMatchObject({
      code: expect.stringMatching(/MANAGED_LEDGER_FENCED|CURSOR_CLOSED/),
    });

    // Every entry A was told is confirmed is in B's view, with its payload; B appends after them.
    const check = await b.openCursor('check', { initialPosition: 'Earliest', durable: false });
    const seen = new Map<string, string>();
    for (let batch = await check.readEntries(200); batch.length > 0; batch = await check.readEntries(200))
      for (const e of batch) seen.set(`${e.position.ledgerId}:${e.position.entryId}`, dec(e.data));
    for (const c of confirmed) expect(seen.get(`${c.p.ledgerId}:${c.p.entryId}`)).toBe(c.body);
    const pb = await b.append(enc('b0'));
    expect(pb.ledgerId).toBeGreaterThan(confirmed[confirmed.length - 1].p.ledgerId);
    await fA.shutdown();
    await fB.shutdown();
    await clientB.close();
  });

  it('an add error seals the ledger and the waiting appends land in order on a new one', async () => {
    const settings = { ledgerCreateAttempts: 100, retryBackoffMs: 50 };
    const f = factoryOn(mc, { settings });
    const ml = await f.open(topic());
    const before: Position[] = [];
    for (let i = 0; i < 5; i++) before.push(await ml.append(enc(`ok${i}`)));
    const firstLedger = before[0].ledgerId;
    // Both bookies are needed (E=Qw=Qa=2): kill one, append, bring it back.
    const victim = mc.rc.bookies[1];
    await victim.kill('SIGKILL');
    const waiting = Array.from({ length: 10 }, (_, i) => ml.append(enc(`w${i}`)));
    const settled = Promise.allSettled(waiting);
    await new Promise((r) => setTimeout(r, 500));
    await victim.restart();
    const results = await settled;
    const positions = results.map((r) => {
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    });
    // In order, on a ledger after the first, which was sealed at its last confirmed entry.
    for (let i = 1; i < positions.length; i++) {
      expect(positions[i].ledgerId).toBe(positions[0].ledgerId);
      expect(positions[i].entryId).toBe(positions[i - 1].entryId + 1);
    }
    expect(positions[0].ledgerId).toBeGreaterThan(firstLedger);
    const sealed = await mc.client.getLedgerMetadata(firstLedger);
    expect(sealed?.state).toBe(LedgerState.CLOSED);
    expect(ml.ledgers.find((l) => l.ledgerId === firstLedger)?.entries).toBe(5);
    const all = await ml.readEntries(ml.firstPosition, { maxEntries: 100 });
    expect(all.map((e) => dec(e.data))).toEqual([
      ...before.map((_, i) => `ok${i}`),
      ...positions.map((_, i) => `w${i}`),
    ]);
    await f.shutdown();
  });
});
