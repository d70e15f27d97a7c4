/**
 * The known protocol defects (internals.md §0 fact 2, §1.9; Vanlightly/bookkeeper-tlaplus), each
 * as a scripted simulation whose fault sequence makes the defect lose data or block recovery.
 * Each returns what happened; defects.test.ts runs it with the correct protocol (no violation)
 * and with the defect re-introduced through `testOnlyDefects` (a violation).
 */
import { errorCode } from '../../lib/ledger/errors.ts';
import type { ProtocolDefects } from '../../lib/ledger/protocol/recovery.ts';
import type { SimClient } from './sim/cluster.ts';
import { PASSWORD, Script } from './sim/scripted.ts';

export interface DefectOutcome {
  readonly violations: string[];
  readonly recovered: number | undefined;
  readonly recoveryError: string | undefined;
  readonly appendFailures: readonly { entryId: number; code: string }[];
  readonly confirmed: readonly number[];
  readonly finalLastEntryId: number;
}

const E3_QW3_QA2 = { ensembleSize: 3, writeQuorum: 3, ackQuorum: 2, password: PASSWORD };
const E2_QW2_QA2 = { ensembleSize: 2, writeQuorum: 2, ackQuorum: 2, password: PASSWORD };

/** Open the ledger for recovery (fence, recover, close): the last entry id it was closed at. */
async function recover(recoverer: SimClient, ledgerId: number): Promise<number> {
  return (await recoverer.client.openLedger(ledgerId, { recovery: true, password: PASSWORD }))
    .lastAddConfirmed;
}

async function outcome(
  s: Script,
  ledgerId: number,
  recovered: number | undefined,
  recoveryError?: string,
): Promise<DefectOutcome> {
  const { violations, lastEntryId } = await s.verify(ledgerId);
  return {
    violations,
    recovered,
    recoveryError,
    appendFailures: s.history.appendFailures,
    confirmed: s.history.confirmed,
    finalLastEntryId: lastEntryId,
  };
}

/**
 * Defect 1, recovery reads that do not fence (the TLA+ spec's trace). E = Qw = 3, Qa = 2.
 * e0 reaches B only; its copy to C is slow; the fence to C is lost, so fencing covers {A, B}.
 * Recovery reads e0: A and C answer NO_ENTRY first (Qw − Qa + 1 = 2: absent), B's copy answers
 * late; recovery closes the ledger empty. Then e0 reaches C. If the recovery read did not fence
 * C, C takes it, the writer has Qa acks and confirms e0: a confirmed entry the ledger does not have.
 */
export async function unfencedRecoveryReads(defects: ProtocolDefects, seed = 1): Promise<DefectOutcome> {
  const s = new Script({ seed, bookies: 3 });
  const writer = s.client('w', {}, { bookieAddTimeoutMs: 1000 });
  const recoverer = s.client('r', defects);
  let ledgerId = -1;
  let recovered: number | undefined;
  await s.run(async () => {
    const ledger = await writer.client.createLedger(E3_QW3_QA2);
    ledgerId = ledger.id;
    const [a, b, c] = s.meta(ledgerId).segments[0].bookieIds;
    s.cluster.net.script = (from, to, what) => {
      if (what === `add:${ledgerId}:0` && to === a) return 'drop';
      if (what === `add:${ledgerId}:0` && to === c) return 40;
      if (what === `fence:${ledgerId}` && to === c) return 'drop';
      if (from === b && to === 'r' && /read:\d+:0-reply$/.test(what)) return 30;
      return 'pass';
    };
    const appended = s.append(ledger, 0);
    await s.sleep(5);
    recovered = await recover(recoverer, ledgerId);
    await appended;
  });
  return outcome(s, ledgerId, recovered);
}

/**
 * Defect 2, recovery starting below the last fragment. E = Qw = Qa = 2. Entries 0–9 are sent at
 * once (so every envelope carries LAC −1); X stops taking 5–9, the writer replaces X by Y in a
 * fragment starting at 5, and crashes before Y gets anything; then X dies. Fencing {Y, Z} sees
 * LAC −1. Starting at max(LAC, 5 − 1) = 4, recovery finds 5 absent and closes at 4. Starting at −1,
 * it re-writes entries 0–4 to their fragment {X, Z}; X is dead and only the last fragment may
 * change: the recovery cannot complete (BookKeeper ≤ 4.11 tried to create an invalid fragment).
 */
export async function recoveryBelowLastFragment(defects: ProtocolDefects, seed = 2): Promise<DefectOutcome> {
  const s = new Script({ seed, bookies: 4 });
  const writer = s.client('w', {}, { bookieAddTimeoutMs: 30 });
  const recoverer = s.client('r', defects);
  let ledgerId = -1;
  let recovered: number | undefined;
  let recoveryError: string | undefined;
  await s.run(async () => {
    const ledger = await writer.client.createLedger(E2_QW2_QA2);
    ledgerId = ledger.id;
    const [x, z] = s.meta(ledgerId).segments[0].bookieIds;
    s.cluster.net.script = (_from, to, what) => {
      const m = /^add:\d+:(\d+)$/.exec(what);
      if (m && to === x && Number(m[1]) >= 5) return 'drop';
      if (m && to !== x && to !== z) return 'drop';
      return 'pass';
    };
    for (let i = 0; i < 10; i++) void s.append(ledger, i);
    await s.until(() => s.meta(ledgerId).segments.length >= 2);
    writer.node.crash();
    s.cluster.crashBookie(x);
    s.cluster.net.script = undefined;
    try {
      recovered = await recover(recoverer, ledgerId);
    } catch (e) {
      recoveryError = errorCode(e) ?? String(e);
    }
  });
  const out = await outcome(s, ledgerId, recovered, recoveryError);
  if (recoveryError) out.violations.push(`recovery failed: ${recoveryError}`);
  return out;
}

/**
 * Defect 3, "unknown" taken for "no such entry". E = Qw = 3, Qa = 2. e0 is confirmed by A and B
 * (C never gets it); the writer crashes; A loses its disk (one copy: within Qa − 1) and comes back
 * in limbo; B is cut off from the recoverer for a while. Recovery reads e0: A says UNKNOWN, C says
 * NO_ENTRY. Counting UNKNOWN as absent makes two (Qw − Qa + 1): the ledger closes empty and the
 * confirmed e0 is lost. Correctly, the read is undecided until B answers.
 */
export async function unknownAsAbsent(defects: ProtocolDefects, seed = 3): Promise<DefectOutcome> {
  const s = new Script({ seed, bookies: 3 });
  const writer = s.client('w', {}, { bookieAddTimeoutMs: 1000 });
  const recoverer = s.client('r', defects);
  let ledgerId = -1;
  let recovered: number | undefined;
  await s.run(async () => {
    const ledger = await writer.client.createLedger(E3_QW3_QA2);
    ledgerId = ledger.id;
    const [a, b, c] = s.meta(ledgerId).segments[0].bookieIds;
    s.cluster.net.script = (_from, to, what) => (what === `add:${ledgerId}:0` && to === c ? 'drop' : 'pass');
    await s.append(ledger, 0);
    writer.node.crash();
    s.cluster.wipeBookie(a);
    s.cluster.restartBookie(a);
    s.cluster.net.partition('r', b);
    const healLater = s.sleep(300).then(() => s.cluster.net.heal('r', b));
    recovered = await recover(recoverer, ledgerId);
    await healLater;
  });
  return outcome(s, ledgerId, recovered);
}

/**
 * A bookie requirement rather than a client defect: a bookie that lost its disk forgets the
 * fences it had taken, so it must refuse normal adds for every ledger it puts in limbo. E = Qw = 3,
 * Qa = 2: recovery fences A and B (C never hears from it: covered) and closes the ledger empty.
 * Then A loses its disk and comes back. The old writer appends e0: B says FENCED (slowly), but if
 * A and C both take it, the writer has Qa acks and confirms an entry of a closed ledger.
 */
export async function wipedBookieForgetsFence(limboFencesAdds: boolean, seed = 4): Promise<DefectOutcome> {
  const s = new Script({ seed, bookies: 3 });
  for (const b of s.cluster.bookies.values()) b.limboFencesAdds = limboFencesAdds;
  const writer = s.client('w', {}, { bookieAddTimeoutMs: 1000 });
  const recoverer = s.client('r');
  let ledgerId = -1;
  let recovered: number | undefined;
  await s.run(async () => {
    const ledger = await writer.client.createLedger(E3_QW3_QA2);
    ledgerId = ledger.id;
    const [a, b, c] = s.meta(ledgerId).segments[0].bookieIds;
    s.cluster.net.script = (from, to, what) => {
      if (to === c && (what === `fence:${ledgerId}` || what.startsWith(`fread:${ledgerId}:`))) return 'drop';
      if (from === b && what === `add:${ledgerId}:0-reply`) return 20;
      return 'pass';
    };
    recovered = await recover(recoverer, ledgerId);
    s.cluster.wipeBookie(a);
    s.cluster.restartBookie(a);
    await s.append(ledger, 0);
  });
  return outcome(s, ledgerId, recovered);
}
