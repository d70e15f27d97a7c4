/** Fencing, LAC long polls, delete and list over gRPC against a real bookie process. */
import { afterAll, describe, expect, it } from 'vitest';
import { Status } from '../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { envelopeFor, payloadFor, TEST_KEY } from '../../services/bookie/testing/client.ts';
import { stopAll } from '../harness/index.ts';
import { bookieDirs, startBookieProcess } from './helpers.ts';

afterAll(stopAll);

const NO_METADATA = ['--registration', 'false'];
const entries = (ledgerId: number, from: number, to: number, extra: { recovery?: boolean } = {}) =>
  Array.from({ length: to - from }, (_, i) => ({
    ledgerId,
    entryId: from + i,
    payload: payloadFor(ledgerId, from + i, 100),
    ...extra,
  }));

describe('fencing and LAC (real process)', { concurrent: false }, () => {
  it('fences durably: normal adds refused, recovery adds accepted, and it survives kill -9', async () => {
    const dirs = bookieDirs();
    const b = await startBookieProcess('fence-1', dirs, NO_METADATA);
    const s = b.client.openAddSession();
    expect((await s.add(entries(1, 0, 10))).every((r) => r.status === Status.OK)).toBe(true);

    expect((await b.client.fence(1, Buffer.from('wrong key'))).status).toBe(Status.UNAUTHORIZED);
    const f = await b.client.fence(1);
    expect(f.status).toBe(Status.OK);
    expect(f.lac).toBe(8n);
    expect(f.lastEntryId).toBe(9n);
    expect(Buffer.from(f.lastEntryBody).equals(envelopeFor(1, 9, payloadFor(1, 9, 100)))).toBe(true);

    expect((await s.add(entries(1, 10, 11)))[0].status).toBe(Status.FENCED);
    expect((await s.add(entries(1, 10, 11, { recovery: true })))[0].status).toBe(Status.OK);
    const wrongKey = await s.add([
      { ...entries(1, 11, 12, { recovery: true })[0], masterKey: Buffer.from('x') },
    ]);
    expect(wrongKey[0].status).toBe(Status.UNAUTHORIZED);

    // Fencing a ledger this bookie never saw records it, so the old writer's late add is refused.
    const unknown = await b.client.fence(2);
    expect(unknown.status).toBe(Status.OK);
    expect(unknown.lastEntryId).toBe(-1n);
    expect((await s.add(entries(2, 0, 1)))[0].status).toBe(Status.FENCED);

    // A recovery read with the fence flag fences too.
    expect((await s.add(entries(3, 0, 3))).every((r) => r.status === Status.OK)).toBe(true);
    const rr = await b.client.readEntry({ ledgerId: 3n, entryId: 2n, fence: true, masterKey: TEST_KEY });
    expect(rr.status).toBe(Status.OK);
    expect((await s.add(entries(3, 3, 4)))[0].status).toBe(Status.FENCED);

    await b.proc.kill('SIGKILL');
    b.client.close();
    const b2 = await startBookieProcess('fence-1', dirs, NO_METADATA);
    const s2 = b2.client.openAddSession();
    for (const l of [1, 2, 3])
      expect((await s2.add(entries(l, 20, 21)))[0].status, `ledger ${l}`).toBe(Status.FENCED);
    expect((await s2.add(entries(1, 11, 12, { recovery: true })))[0].status).toBe(Status.OK);
    const r10 = await b2.client.readEntry({ ledgerId: 1n, entryId: 10n });
    expect(r10.status).toBe(Status.OK);
    await s2.end();
    await b2.stop();
  });

  it('answers LAC long polls when the LAC passes, times out otherwise, and bounds waiting polls', async () => {
    const b = await startBookieProcess('lac-1', bookieDirs(), [...NO_METADATA, '--max-long-polls', '2']);
    const s = b.client.openAddSession();
    await s.add(entries(7, 0, 3));
    const plain = await b.client.readLac({ ledgerId: 7n });
    expect(plain.status).toBe(Status.OK);
    expect(plain.lac).toBe(1n);
    expect(plain.lastEntryId).toBe(2n);

    const poll = b.client.readLac({ ledgerId: 7n, previousLac: 1n, timeoutMs: 20_000, piggybackEntry: true });
    const poll2 = b.client.readLac({ ledgerId: 7n, previousLac: 1n, timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300));
    const third = await b.client.readLac({ ledgerId: 7n, previousLac: 1n, timeoutMs: 20_000 });
    expect(third.status).toBe(Status.TOO_MANY_REQUESTS);
    await s.add(entries(7, 3, 4)); // carries LAC 2
    const done = await poll;
    expect(done.status).toBe(Status.OK);
    expect(done.lac).toBe(2n);
    expect(Buffer.from(done.piggybackBody).equals(envelopeFor(7, 2, payloadFor(7, 2, 100)))).toBe(true);
    expect((await poll2).lac).toBe(2n);

    const timeout = await b.client.readLac({ ledgerId: 7n, previousLac: 2n, timeoutMs: 200 });
    expect(timeout.status).toBe(Status.TIMEOUT);
    expect(timeout.lac).toBe(2n);
    expect((await b.client.readLac({ ledgerId: 99n, previousLac: -1n, timeoutMs: 100 })).status).toBe(
      Status.NO_LEDGER,
    );
    await s.end();
    await b.stop();
  });

  it('deletes ledgers and lists ledgers and entries', async () => {
    const b = await startBookieProcess('list-1', bookieDirs(), NO_METADATA);
    const s = b.client.openAddSession();
    for (const l of [10, 11, 12]) await s.add(entries(l, 0, 5));
    await s.add(entries(12, 7, 9));
    const all = await b.client.listLedgers();
    expect(all.ledgerIds).toEqual([10n, 11n, 12n]);
    const page = await b.client.listLedgers(10, 1);
    expect(page.ledgerIds).toEqual([11n]);
    expect(page.more).toBe(true);
    const ranges = await b.client.listEntries(12);
    expect(ranges.ranges.map((r) => [r.first, r.last])).toEqual([
      [0n, 4n],
      [7n, 8n],
    ]);
    expect((await b.client.readEntry({ ledgerId: 12n, entryId: 5n })).status).toBe(Status.NO_ENTRY);
    expect((await b.client.deleteLedger(11)).status).toBe(Status.OK);
    expect((await b.client.deleteLedger(11)).status).toBe(Status.NO_LEDGER);
    expect((await b.client.readEntry({ ledgerId: 11n, entryId: 0n })).status).toBe(Status.NO_LEDGER);
    expect((await b.client.listLedgers()).ledgerIds).toEqual([10n, 12n]);
    const info = await b.client.info();
    expect(info.bookieId).toBe('list-1');
    expect(info.ledgerCount).toBe(2n);
    await s.end();
    await b.stop();
  });
});
