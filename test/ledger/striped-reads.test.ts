/**
 * Striped range reads on the simulated cluster (virtual time, deterministic): the simulated
 * bookie selects exactly what a real one does (bookie.proto ReadRangeRequest.stride_*), the
 * client reads a fragment with E > Qw in a few striped ranges, and an entry a replica is missing
 * in the middle of a stride is fetched from another replica — or, missing everywhere, fails the
 * read instead of being skipped.
 */
import { describe, expect, it } from 'vitest';
import { Status } from '../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import type { RangeStride, ReadRangeReply } from '../../lib/ledger/driver/transport.ts';
import type { LedgerWriter } from '../../lib/ledger/driver/writer.ts';
import { decodeEnvelope } from '../../lib/ledger/envelope.ts';
import { errorCode } from '../../lib/ledger/errors.ts';
import { writeSet } from '../../lib/ledger/protocol/distribution.ts';
import type { SimClient } from './sim/cluster.ts';
import { PASSWORD, payload, Script } from './sim/scripted.ts';

const Q322 = { ensembleSize: 3, writeQuorum: 2, ackQuorum: 2, password: PASSWORD };
const ENTRIES = 30;

/** A closed E=3 Qw=2 ledger of ENTRIES entries on three simulated bookies. */
async function closedLedger(s: Script): Promise<LedgerWriter> {
  const w = s.client('w');
  let ledger!: LedgerWriter;
  await s.run(async () => {
    ledger = await w.client.createLedger(Q322);
    await Promise.all(Array.from({ length: ENTRIES }, (_, i) => s.append(ledger, i)));
    await ledger.close();
  });
  expect(s.history.confirmed.length).toBe(ENTRIES);
  return ledger;
}

function rangeOf(
  s: Script,
  c: SimClient,
  bookieId: string,
  req: { ledgerId: number; firstEntryId: number; maxEntries: number; stride?: RangeStride },
): Promise<ReadRangeReply> {
  let reply: ReadRangeReply | undefined;
  return s
    .run(async () => {
      reply = await new Promise<ReadRangeReply>((resolve) =>
        c.transport.readRange(bookieId, { maxBytes: 1 << 20, ...req }, 1_000, resolve),
      );
    })
    .then(() => reply!);
}

const idsOf = (r: ReadRangeReply) =>
  r.bodies.map((b) => {
    const d = decodeEnvelope(b);
    if (typeof d === 'string') throw new Error(d);
    return d.entryId;
  });

describe('striped range reads (simulated)', () => {
  it('a simulated bookie selects the runs it holds, like a real one, and stops at a gap', async () => {
    const s = new Script({ seed: 31, bookies: 3 });
    const ledger = await closedLedger(s);
    const ensemble = s.meta(ledger.id).segments[0].bookieIds;
    const c = s.client('probe');
    for (let k = 0; k < 3; k++) {
      // Bookie k holds e when (k − e) mod 3 < 2: runs of two every three entries.
      const held = Array.from({ length: ENTRIES }, (_, e) => e).filter((e) => (k - e + 30) % 3 < 2);
      for (const first of held.slice(0, 4)) {
        const stride = { period: 3, run: 2, position: (first - k + 1 + 30) % 3 };
        const r = await rangeOf(s, c, ensemble[k], {
          ledgerId: ledger.id,
          firstEntryId: first,
          maxEntries: 100,
          stride,
        });
        expect(idsOf(r)).toEqual(held.filter((e) => e >= first));
        expect(r.stopStatus).toBe(Status.NO_ENTRY); // the range ran past the last entry
        const bounded = await rangeOf(s, c, ensemble[k], {
          ledgerId: ledger.id,
          firstEntryId: first,
          maxEntries: 3,
          stride,
        });
        expect(idsOf(bounded)).toEqual(held.filter((e) => e >= first).slice(0, 3));
        expect(bounded.stopStatus).toBe(Status.OK);
      }
      const one = { period: 3, run: 1, position: 0 };
      const r = await rangeOf(s, c, ensemble[k], {
        ledgerId: ledger.id,
        firstEntryId: k,
        maxEntries: 100,
        stride: one,
      });
      expect(idsOf(r)).toEqual(Array.from({ length: 10 }, (_, i) => k + 3 * i));
    }
    // A selected entry missing ends the range there: nothing after it is skipped to.
    s.cluster.bookies.get(ensemble[0])!.dropEntry(ledger.id, 9);
    const one = { period: 3, run: 1, position: 0 };
    const r = await rangeOf(s, c, ensemble[0], {
      ledgerId: ledger.id,
      firstEntryId: 0,
      maxEntries: 100,
      stride: one,
    });
    expect(idsOf(r)).toEqual([0, 3, 6]);
    expect(r.stopStatus).toBe(Status.NO_ENTRY);
    const bad = await rangeOf(s, c, ensemble[0], {
      ledgerId: ledger.id,
      firstEntryId: 0,
      maxEntries: 100,
      stride: { period: 3, run: 2, position: 2 },
    });
    expect(bad.status).toBe(Status.BAD_REQUEST);
  });

  it('reads a fragment with one striped range per residue', async () => {
    const s = new Script({ seed: 32, bookies: 3 });
    const ledger = await closedLedger(s);
    const r = s.client('r', {}, { readRangeEntriesMax: 1000 });
    const got = await s.run(async () => {
      const h = await r.client.openLedger(ledger.id, { recovery: false, password: PASSWORD });
      return h.read(0, ENTRIES - 1);
    });
    expect(got.value!.map((e) => Buffer.from(e.payload).toString())).toEqual(
      Array.from({ length: ENTRIES }, (_, i) => payload(i).toString()),
    );
    expect(r.transport.sent.range).toBe(3);
    expect(r.transport.sent.read).toBe(0);
  });

  it('an entry one replica misses in the middle of a stride is read from another one', async () => {
    const s = new Script({ seed: 33, bookies: 3 });
    const ledger = await closedLedger(s);
    const ensemble = s.meta(ledger.id).segments[0].bookieIds;
    // The stripe of entry 13 (13, 16, 19, … ≡ 1 mod 3) starts at the first bookie of its write set.
    const [first, second] = writeSet(13, ensemble, Q322);
    s.cluster.bookies.get(first)!.dropEntry(ledger.id, 13);
    const r = s.client('r', {}, { readRangeEntriesMax: 1000 });
    const got = await s.run(async () => {
      const h = await r.client.openLedger(ledger.id, { recovery: false, password: PASSWORD });
      return h.read(0, ENTRIES - 1);
    });
    expect(got.error).toBeUndefined();
    expect(got.value!.map((e) => e.entryId)).toEqual(Array.from({ length: ENTRIES }, (_, i) => i));
    expect(got.value!.map((e) => Buffer.from(e.payload).toString())).toEqual(
      Array.from({ length: ENTRIES }, (_, i) => payload(i).toString()),
    );
    // Three stripes, the short one resumed on the other replica after a single read of entry 13
    // (which asks the first replica, gets NO_ENTRY, then the second).
    expect(r.transport.sent.range).toBe(4);
    expect(r.transport.sent.read).toBe(2);
    expect(second).not.toBe(first);
  });

  it('an entry every replica misses fails the read; it is never skipped', async () => {
    const s = new Script({ seed: 34, bookies: 3 });
    const ledger = await closedLedger(s);
    const ensemble = s.meta(ledger.id).segments[0].bookieIds;
    for (const b of writeSet(13, ensemble, Q322)) s.cluster.bookies.get(b)!.dropEntry(ledger.id, 13);
    const r = s.client('r', {}, { readRangeEntriesMax: 1000 });
    const got = await s.run(async () => {
      const h = await r.client.openLedger(ledger.id, { recovery: false, password: PASSWORD });
      return h.read(0, ENTRIES - 1);
    });
    expect(got.value).toBeUndefined();
    expect(errorCode(got.error)).toBe('READ_FAILED');
    expect(String((got.error as Error).message)).toContain('13');
  });
});
