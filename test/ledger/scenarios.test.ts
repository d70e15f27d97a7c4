/**
 * Hand-written protocol cases on the simulated cluster (virtual time, so "within X ms" below is
 * exact and deterministic, not a wall-clock assertion): ensemble changes on a read-only bookie,
 * their bound, NOT_ENOUGH_BOOKIES, backpressure, speculative reads, racing recoverers, a writer
 * that finds IN_RECOVERY, a writer whose ensemble change races autorecovery of an older fragment,
 * add timeouts, long polls.
 */
import { describe, expect, it } from 'vitest';
import type { LedgerWriter } from '../../lib/ledger/driver/writer.ts';
import { errorCode } from '../../lib/ledger/errors.ts';
import { copyFragment } from '../../lib/ledger/fragment-replicator.ts';
import { PASSWORD, payload, Script } from './sim/scripted.ts';

const Q322 = { ensembleSize: 3, writeQuorum: 2, ackQuorum: 2, password: PASSWORD };

async function appendRange(s: Script, ledger: LedgerWriter, from: number, to: number): Promise<void> {
  await Promise.all(Array.from({ length: to - from }, (_, k) => s.append(ledger, from + k)));
}

describe('ledger protocol scenarios (simulated)', () => {
  it('a bookie turning read-only is swapped out; writes continue, nothing confirmed is lost', async () => {
    const s = new Script({ seed: 10, bookies: 4 });
    const w = s.client('w');
    let ledger!: LedgerWriter;
    await s.run(async () => {
      ledger = await w.client.createLedger(Q322);
      await appendRange(s, ledger, 0, 20);
      const ro = s.meta(ledger.id).segments[0].bookieIds[0];
      s.cluster.bookies.get(ro)!.readOnly = true;
      await appendRange(s, ledger, 20, 60);
      const segs = s.meta(ledger.id).segments;
      expect(segs.length).toBe(2);
      expect(segs[1].bookieIds).not.toContain(ro);
      await ledger.close();
    });
    expect(s.history.confirmed.length).toBe(60);
    expect(ledger.ensembleChanges).toBe(1);
    expect((await s.verify(ledger.id)).violations).toEqual([]);
  });

  it('ensemble changes are bounded; running out of bookies fails pending appends', async () => {
    const s = new Script({ seed: 11, bookies: 5 });
    const w = s.client('w', {}, { ensembleChangesMax: 1 });
    let ledgerId = -1;
    await s.run(async () => {
      const ledger = await w.client.createLedger(Q322);
      ledgerId = ledger.id;
      await appendRange(s, ledger, 0, 10);
      s.cluster.crashBookie(s.meta(ledgerId).segments[0].bookieIds[0]);
      await appendRange(s, ledger, 10, 20);
      const replacement = s
        .meta(ledgerId)
        .segments[1].bookieIds.find((b) => !s.meta(ledgerId).segments[0].bookieIds.includes(b))!;
      s.cluster.crashBookie(replacement);
      await appendRange(s, ledger, 20, 30);
    });
    expect(s.history.confirmed).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(new Set(s.history.appendFailures.map((f) => f.code))).toEqual(
      new Set(['TOO_MANY_ENSEMBLE_CHANGES']),
    );
    expect((await s.verify(ledgerId)).violations).toEqual([]);

    const t = new Script({ seed: 12, bookies: 3 });
    const w2 = t.client('w');
    await t.run(async () => {
      const ledger = await w2.client.createLedger(Q322);
      ledgerId = ledger.id;
      await appendRange(t, ledger, 0, 5);
      t.cluster.crashBookie(t.meta(ledgerId).segments[0].bookieIds[2]);
      await appendRange(t, ledger, 5, 10);
    });
    expect(t.history.confirmed.length).toBe(5);
    expect(t.history.appendFailures[0].code).toBe('NOT_ENOUGH_BOOKIES');
    expect((await t.verify(ledgerId)).violations).toEqual([]);
  });

  it('backpressure: appends wait for room, and beyond the waiting bound they are refused', async () => {
    const s = new Script({ seed: 13, bookies: 3 });
    const w = s.client('w', {}, { pendingAddsMax: 4, waitingAppendsMax: 10 });
    await s.run(async () => {
      const ledger = await w.client.createLedger(Q322);
      const all = Array.from({ length: 20 }, (_, i) => s.append(ledger, i));
      expect(ledger.pendingCount).toBe(14);
      await Promise.all(all);
    });
    expect(s.history.confirmed).toEqual(Array.from({ length: 14 }, (_, i) => i));
    expect(s.history.appendFailures.map((f) => f.code)).toEqual(Array(6).fill('TOO_MANY_PENDING_ADDS'));
  });

  it('a slow bookie is bypassed by a speculative read after the configured delay', async () => {
    const s = new Script({ seed: 14, bookies: 3 });
    const w = s.client('w');
    const r = s.client('r', {}, { speculativeReadDelayMs: 20, readRangeEntriesMax: 1 });
    let elapsed = 0;
    await s.run(async () => {
      const ledger = await w.client.createLedger({ ...Q322, ensembleSize: 2 });
      await appendRange(s, ledger, 0, 3);
      await ledger.close();
      const slow = s.meta(ledger.id).segments[0].bookieIds[1 % 2]; // first of entry 1's write set
      s.cluster.net.script = (_from, to, what) => (to === slow && what.startsWith('read:') ? 500 : 'pass');
      const h = await r.client.openLedger(ledger.id, { recovery: false, password: PASSWORD });
      const t0 = s.cluster.sched.nowMs;
      const [e] = await h.read(1, 1);
      elapsed = s.cluster.sched.nowMs - t0;
      expect(Buffer.from(e.payload)).toEqual(payload(1));
    });
    expect(elapsed).toBeGreaterThanOrEqual(20);
    expect(elapsed).toBeLessThan(100);
  });

  it('racing recoverers, with the writer still writing, all end at the same last entry', async () => {
    const s = new Script({ seed: 15, bookies: 5 });
    const w = s.client('w');
    const rs = [s.client('r0'), s.client('r1'), s.client('r2')];
    let ledgerId = -1;
    const lasts: number[] = [];
    await s.run(async () => {
      const ledger = await w.client.createLedger({ ...Q322, ensembleSize: 4 });
      ledgerId = ledger.id;
      const writing = (async () => {
        for (let i = 0; s.history.appendFailures.length === 0; i++) {
          void s.append(ledger, i);
          await s.sleep(0.1);
        }
      })();
      await s.until(() => s.history.confirmed.length >= 50);
      const opened = await Promise.all(
        rs.map((r) => r.client.openLedger(ledgerId, { recovery: true, password: PASSWORD })),
      );
      lasts.push(...opened.map((h) => h.lastAddConfirmed));
      await writing;
    });
    expect(new Set(lasts).size).toBe(1);
    expect(s.history.appendFailures.length).toBeGreaterThan(0);
    expect(new Set(s.history.appendFailures.map((f) => f.code))).toEqual(new Set(['LEDGER_FENCED']));
    const { violations, lastEntryId } = await s.verify(ledgerId);
    expect(violations).toEqual([]);
    expect(lastEntryId).toBe(lasts[0]);
  });

  it('a writer whose ensemble change finds the ledger IN_RECOVERY fails its appends as fenced', async () => {
    const s = new Script({ seed: 16, bookies: 4 });
    const w = s.client('w', {}, { bookieAddTimeoutMs: 50 });
    let ledgerId = -1;
    await s.run(async () => {
      const ledger = await w.client.createLedger(Q322);
      ledgerId = ledger.id;
      await appendRange(s, ledger, 0, 5);
      const [, b] = s.meta(ledgerId).segments[0].bookieIds;
      // Mark IN_RECOVERY directly (a recoverer that crashed right after its CAS), then fail b.
      s.cluster.net.partition('w', b);
      const r = s.client('r');
      const meta = await r.client.context.store.read(ledgerId);
      await r.client.context.store.write({ ...meta!.meta, state: 'in-recovery' }, meta!.version);
      await appendRange(s, ledger, 5, 10);
    });
    expect(s.history.confirmed.length).toBeGreaterThanOrEqual(5);
    expect(s.history.appendFailures.length).toBeGreaterThan(0);
    expect(new Set(s.history.appendFailures.map((f) => f.code))).toEqual(new Set(['LEDGER_FENCED']));
    expect((await s.verify(ledgerId)).violations).toEqual([]);
  });

  it('a writer whose ensemble-change CAS loses to autorecovery of an older fragment re-applies its change', async () => {
    const s = new Script({ seed: 19, bookies: 6 });
    const w = s.client('w');
    const auditor = s.client('autorecovery');
    let ledgerId = -1;
    let target = '';
    let lostInLast = '';
    let writer!: LedgerWriter;
    await s.run(async () => {
      writer = await w.client.createLedger(Q322);
      ledgerId = writer.id;
      await appendRange(s, writer, 0, 10);
      const lost = s.meta(ledgerId).segments[0].bookieIds[0];
      s.cluster.crashBookie(lost);
      await appendRange(s, writer, 10, 20);
      const [first, second] = s.meta(ledgerId).segments;
      expect(s.meta(ledgerId).segments).toHaveLength(2);
      // Autorecovery copies the sealed first fragment's lost replica and CASes the metadata:
      // the writer's cached version is now stale, its ledger still open.
      target = [...s.cluster.bookies.keys()].find(
        (b) => b !== lost && !first.bookieIds.includes(b) && !second.bookieIds.includes(b),
      )!;
      const read = (await auditor.client.context.store.read(ledgerId))!;
      await copyFragment(
        auditor.transport,
        {
          ledgerId,
          masterKey: read.meta.password,
          quorum: read.meta,
          ensemble: first.bookieIds,
          firstEntryId: first.firstEntryId,
          lastEntryId: second.firstEntryId - 1,
          replaceIndex: 0,
          target,
          unavailable: new Set([lost]),
        },
        { batchEntries: 100, batchBytes: 1 << 20, requestTimeoutMs: 1000 },
      );
      const repaired = read.meta.segments.map((seg, i) =>
        i === 0 ? { ...seg, bookieIds: [target, ...seg.bookieIds.slice(1)] } : seg,
      );
      await auditor.client.context.store.write({ ...read.meta, segments: repaired }, read.version);
      // Now a bookie of the open fragment fails: the writer's CAS meets BAD_VERSION.
      lostInLast = second.bookieIds.find((b) => b !== target)!;
      s.cluster.crashBookie(lostInLast);
      await appendRange(s, writer, 20, 40);
      await writer.close();
    });
    expect(s.history.confirmed).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(s.history.appendFailures).toEqual([]);
    const segs = s.meta(ledgerId).segments;
    expect(segs).toHaveLength(3);
    expect(segs[0].bookieIds[0]).toBe(target); // autorecovery's repair kept
    expect(segs[2].bookieIds).not.toContain(lostInLast); // the writer's change re-applied on top
    expect(s.meta(ledgerId).state).toBe('closed');
    expect(writer.ensembleChanges).toBe(2);
    expect((await s.verify(ledgerId)).violations).toEqual([]);
  });

  it('appends nobody answers time out, in order, after the add timeout', async () => {
    const s = new Script({ seed: 17, bookies: 3 });
    const w = s.client('w', {}, { addTimeoutMs: 500, bookieAddTimeoutMs: 10_000 });
    let failedAt = 0;
    await s.run(async () => {
      const ledger = await w.client.createLedger(Q322);
      await appendRange(s, ledger, 0, 3);
      for (const b of s.meta(ledger.id).segments[0].bookieIds) s.cluster.net.partition('w', b);
      const t0 = s.cluster.sched.nowMs;
      await appendRange(s, ledger, 3, 8);
      failedAt = s.cluster.sched.nowMs - t0;
      await expect(ledger.append(payload(9))).rejects.toMatchObject({ code: 'HANDLE_BROKEN' });
    });
    expect(s.history.appendFailures.map((f) => `${f.entryId}:${f.code}`)).toEqual([
      '3:TIMEOUT',
      '4:TIMEOUT',
      '5:TIMEOUT',
      '6:TIMEOUT',
      '7:TIMEOUT',
    ]);
    expect(failedAt).toBeGreaterThanOrEqual(500);
    expect(failedAt).toBeLessThan(1000);
  });

  it('a tailing reader long-polls the LAC and reads up to it', async () => {
    const s = new Script({ seed: 18, bookies: 3 });
    const w = s.client('w');
    const r = s.client('r');
    await s.run(async () => {
      const ledger = await w.client.createLedger(Q322);
      await appendRange(s, ledger, 0, 2);
      const h = await r.client.openLedger(ledger.id, { recovery: false, password: PASSWORD });
      expect(h.lastAddConfirmed).toBe(0); // entry 1 carries LAC 0
      const waiting = h.waitForLastAddConfirmed(0, 5_000);
      const writerWaiting = ledger.waitForLastAddConfirmed(1, 5_000);
      await s.sleep(50);
      await s.append(ledger, 2); // carries LAC 1
      expect(await writerWaiting).toBe(2);
      expect(await waiting).toBe(1);
      expect((await h.read(0, 1)).map((e) => Buffer.from(e.payload).toString())).toEqual([
        payload(0).toString(),
        payload(1).toString(),
      ]);
      expect(await h.waitForLastAddConfirmed(1, 100)).toBe(1); // nothing new: returns at the timeout
      await ledger.close();
      expect(await h.waitForLastAddConfirmed(1, 5_000)).toBe(2);
      expect(h.closed).toBe(true);
    });
    expect(errorCode(undefined)).toBeUndefined();
  });
});
