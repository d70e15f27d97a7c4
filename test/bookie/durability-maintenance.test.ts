/**
 * Durability while the bookie is busy with maintenance: kill -9 lands during checkpoints, index
 * snapshots, compaction and deletes; acknowledged entries and acknowledged deletes survive.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Status } from '../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { payloadFor, type TestEntry } from '../../services/bookie/testing/client.ts';
import { stopAll } from '../harness/index.ts';
import { bookieDirs, startBookieProcess, verifyAcked } from './helpers.ts';

afterAll(stopAll);

const NO_METADATA = ['--registration', 'false'];

describe('bookie durability under maintenance (real processes)', () => {
  it('keeps acknowledged entries and acknowledged deletes across kill -9 during checkpoints, index snapshots and compaction', async () => {
    const dirs = bookieDirs();
    const extra = [
      ...NO_METADATA,
      ...['--checkpoint-interval-ms', '50', '--index-log-max-bytes', '1024'],
      ...['--entry-log-max-bytes', String(256 * 1024), '--max-entry-bytes', String(64 * 1024)],
      ...['--gc-interval-ms', '100', '--gc-minor-interval-ms', '100', '--gc-minor-threshold', '0.6'],
    ];
    const bytesOf = (l: number, e: number) => 200 + ((l + e) % 300);
    const acked = new Map<number, Set<number>>();
    const deleted = new Set<number>();
    const next = new Map<number, number>();
    let ledgerSeq = 1;
    let logs = '';
    // At least 4 rounds; more (bounded) until a compaction has run during one of them, since how
    // much maintenance fits before a kill depends on the machine's speed.
    const compacted = () => /"compactedLogs":[1-9]/.test(logs);
    for (let round = 0; round < 4 || (round < 12 && !compacted()); round++) {
      const b = await startBookieProcess('dur-3', dirs, extra);
      if (round > 0) {
        expect(await verifyAcked(b, acked, bytesOf)).toBe(
          [...acked.values()].reduce((n, s) => n + s.size, 0),
        );
        for (const l of deleted) {
          const st = (await b.client.readEntry({ ledgerId: BigInt(l), entryId: 0n })).status;
          expect(st, `round ${round} ledger ${l} deleted ${[...deleted]} log ${b.proc.logPath}`).toBe(
            Status.NO_LEDGER,
          );
        }
      }
      const session = b.client.openAddSession();
      const live = [ledgerSeq++, ledgerSeq++, ledgerSeq++];
      const killAt = 30 + (round % 4) * 7;
      for (let batch = 0; batch < 60; batch++) {
        if (batch === killAt) {
          void b.proc.kill('SIGKILL');
          break;
        }
        const ledgers = [...new Set([...acked.keys(), ...live])].filter((l) => !deleted.has(l));
        const entries: TestEntry[] = ledgers.slice(-6).map((ledgerId) => {
          const entryId = next.get(ledgerId) ?? 0;
          next.set(ledgerId, entryId + 1);
          return { ledgerId, entryId, payload: payloadFor(ledgerId, entryId, bytesOf(ledgerId, entryId)) };
        });
        const results = await session.add(entries).catch(() => []);
        for (const r of results) {
          if (r.status !== Status.OK) continue;
          const l = Number(r.ledgerId);
          if (!acked.has(l)) acked.set(l, new Set());
          acked.get(l)!.add(Number(r.entryId));
        }
        if (batch % 15 === 14) {
          // Delete the oldest live ledger: once acknowledged it must never come back.
          const victim = [...acked.keys()].find((l) => !deleted.has(l));
          if (victim !== undefined) {
            const res = await b.client.deleteLedger(victim).catch(() => undefined);
            if (res?.status === Status.OK) {
              deleted.add(victim);
              acked.delete(victim);
            }
          }
        }
      }
      await b.proc.exited;
      logs += b.proc.logs();
      b.client.close();
    }
    // The kills hit a bookie that was busy with all kinds of maintenance.
    expect(logs).toMatch(/index snapshot written/);
    expect(compacted(), 'a compaction ran during the rounds').toBe(true);
    const last = await startBookieProcess('dur-3', dirs, extra);
    expect(await verifyAcked(last, acked, bytesOf)).toBe([...acked.values()].reduce((n, s) => n + s.size, 0));
    for (const l of deleted)
      expect((await last.client.readEntry({ ledgerId: BigInt(l), entryId: 0n })).status).toBe(
        Status.NO_LEDGER,
      );
    expect(last.proc.logs()).not.toMatch(/journal lost records|limbo/);
    await last.stop();
  });
});
