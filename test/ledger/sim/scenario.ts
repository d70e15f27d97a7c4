/**
 * One seeded simulation run: a writer appends to a ledger while faults strike (bookie crashes,
 * disk wipes within the fault atlas, partitions, message loss, read-only bookies, a writer
 * crash), tailing readers follow the LAC, and recoverers race to fence and close the ledger.
 * Then the faults heal, a verifier recovers the ledger and reads everything back, and the
 * history is checked (history.ts). The same seed always produces the same run.
 *
 * Fault atlas (TigerBeetle's idea, style-anchors §1): a disk wipe is only injected if it destroys
 * at most Qa − 1 copies of every entry in total, the failure the protocol claims to survive.
 */
import type { MagnetarError } from '../../../lib/errors/index.ts';
import type { LedgerEntry } from '../../../lib/ledger/api.ts';
import { errorCode } from '../../../lib/ledger/errors.ts';
import type { LedgerWriter } from '../../../lib/ledger/driver/writer.ts';
import type { ProtocolDefects } from '../../../lib/ledger/protocol/recovery.ts';
import { type SimClient, SimCluster } from './cluster.ts';
import { checkHistory, newHistory } from './history.ts';
import type { NetworkFaults } from './network.ts';
import { Rng } from './rng.ts';

export interface Quorum3 {
  readonly ensembleSize: number;
  readonly writeQuorum: number;
  readonly ackQuorum: number;
}

export interface ScenarioConfig {
  readonly seed: number;
  readonly quorum: Quorum3;
  readonly bookies: number;
  readonly entries: number;
  readonly pipeline: number;
  readonly recoverers: number;
  /** Recoverers start within this many ms of each other (racing), or spread over the run. */
  readonly recovererSpreadMs: number;
  /** Mean pause between two appends of the writer (0: as fast as the pipeline allows). */
  readonly writerPaceMs: number;
  readonly readers: number;
  readonly faults: number;
  readonly writerCrash: boolean;
  readonly network: NetworkFaults;
  readonly ambiguousStoreFailureProbability: number;
  readonly defects: ProtocolDefects;
  readonly trace: boolean;
}

const QUORUMS: Quorum3[] = [
  { ensembleSize: 1, writeQuorum: 1, ackQuorum: 1 },
  { ensembleSize: 2, writeQuorum: 2, ackQuorum: 2 },
  { ensembleSize: 3, writeQuorum: 2, ackQuorum: 2 },
  { ensembleSize: 3, writeQuorum: 3, ackQuorum: 2 },
  { ensembleSize: 3, writeQuorum: 3, ackQuorum: 3 },
  { ensembleSize: 4, writeQuorum: 3, ackQuorum: 2 },
  { ensembleSize: 5, writeQuorum: 3, ackQuorum: 2 },
  { ensembleSize: 5, writeQuorum: 5, ackQuorum: 3 },
  { ensembleSize: 4, writeQuorum: 2, ackQuorum: 1 },
];

export function randomScenario(seed: number, overrides: Partial<ScenarioConfig> = {}): ScenarioConfig {
  const r = new Rng(seed ^ 0x5eed);
  const quorum = r.pick(QUORUMS);
  const lossy = r.chance(0.3);
  return {
    seed,
    quorum,
    bookies: quorum.ensembleSize + r.int(0, 3),
    entries: r.int(5, 120),
    pipeline: r.int(1, 24),
    recoverers: r.chance(0.7) ? r.int(1, 3) : 0,
    recovererSpreadMs: r.pick([1, 20, 2_000]),
    writerPaceMs: r.pick([0, 0.5, 2, 10]),
    readers: r.chance(0.4) ? 1 : 0,
    faults: r.int(0, 7),
    writerCrash: r.chance(0.25),
    network: {
      lossProbability: lossy ? r.pick([0.001, 0.01, 0.03]) : 0,
      minDelayMs: 0.05,
      maxDelayMs: r.pick([0.3, 1, 3]),
      spikeProbability: r.pick([0, 0.01, 0.05]),
      spikeDelayMs: r.pick([20, 100, 300]),
    },
    ambiguousStoreFailureProbability: r.chance(0.2) ? 0.05 : 0,
    defects: {},
    trace: false,
    ...overrides,
  };
}

export interface ScenarioResult {
  readonly config: ScenarioConfig;
  readonly violations: string[];
  readonly trace: string[];
  readonly events: number;
  readonly confirmed: number;
  readonly finalLastEntryId: number;
  readonly ensembleChanges: number;
}

const PASSWORD = Buffer.from('sim-password');
const ACTIVE_MS_MIN = 200;

export async function runScenario(cfg: ScenarioConfig): Promise<ScenarioResult> {
  const cluster = new SimCluster({
    seed: cfg.seed,
    bookies: cfg.bookies,
    network: cfg.network,
    ambiguousStoreFailureProbability: cfg.ambiguousStoreFailureProbability,
    trace: cfg.trace,
  });
  const rng = cluster.rng.fork();
  // The writer's expected active time: recoverers and faults land inside it.
  const activeMs = Math.max(ACTIVE_MS_MIN, cfg.entries * cfg.writerPaceMs * 1.2);
  const recoveryBase = rng.next() * activeMs;
  const payloadRng = new Rng(cfg.seed * 7 + 1);
  const payloads = Array.from({ length: cfg.entries }, (_, i) =>
    Buffer.concat([Buffer.from(`s${cfg.seed}e${i}:`), Buffer.alloc(payloadRng.int(0, 64), i & 0xff)]),
  );
  const history = newHistory((i) => payloads[i] ?? Buffer.alloc(0));
  const violations: string[] = [];
  const runningActors = new Set<string>();
  const actor = (name: string, fn: () => Promise<void>) => {
    runningActors.add(name);
    void fn()
      .catch((e) => violations.push(`${name} threw ${errorCode(e) ?? ''} ${(e as Error).stack ?? e}`))
      .finally(() => runningActors.delete(name));
  };
  const sleep = (ms: number) => new Promise<void>((res) => cluster.sched.schedule(ms, res));

  const writer = cluster.newClient('w', cfg.defects);
  let ledgerId = -1;
  let crashWriter: () => void = () => {};
  const writerDead = new Promise<'dead'>((res) => {
    crashWriter = () => res('dead');
  });

  actor('writer', async () => {
    let ledger: LedgerWriter | undefined;
    for (let attempt = 0; ledger === undefined; attempt++) {
      try {
        ledger = await writer.client.createLedger({ ...cfg.quorum, password: PASSWORD });
      } catch (e) {
        if (attempt >= 5 || errorCode(e) !== 'METADATA_UNAVAILABLE') throw e;
      }
    }
    ledgerId = ledger.id;
    startOthers();
    await writeAll(ledger);
    history.ensembleChanges = ledger.ensembleChanges;
  });

  async function writeAll(ledger: LedgerWriter): Promise<void> {
    let failed = false;
    const settles: Promise<unknown>[] = [];
    for (let i = 0; i < cfg.entries && !failed && writer.node.alive; i++) {
      const p = ledger.append(payloads[i]).then(
        (id) => void history.confirmed.push(id),
        (e) => {
          failed = true;
          history.appendFailures.push({ entryId: i, code: errorCode(e) ?? String(e) });
        },
      );
      settles.push(p);
      if (ledger.pendingCount >= cfg.pipeline) await Promise.race([p, writerDead]);
      if (cfg.writerPaceMs > 0) await Promise.race([sleep(rng.next() * 2 * cfg.writerPaceMs), writerDead]);
    }
    if ((await Promise.race([Promise.all(settles), writerDead])) === 'dead') return;
    if (!failed && rng.chance(0.5)) {
      const closing = ledger.close().then(
        () => (history.writerClosedAt = ledger.lastAddConfirmed),
        () => undefined,
      );
      await Promise.race([closing, writerDead]);
    }
  }

  function startOthers(): void {
    for (let k = 0; k < cfg.recoverers; k++) {
      const at = Math.min(activeMs, recoveryBase + rng.next() * cfg.recovererSpreadMs);
      const name = `r${k}`;
      const c = cluster.newClient(name, cfg.defects);
      actor(name, async () => {
        await sleep(at);
        await recoverWithRetries(c, name, 3);
      });
    }
    for (let k = 0; k < cfg.readers; k++) tailReader(cluster.newClient(`t${k}`, cfg.defects));
    scheduleFaults();
  }

  async function recoverWithRetries(
    c: SimClient,
    who: string,
    attempts: number,
  ): Promise<number | undefined> {
    for (let a = 0; a < attempts; a++) {
      try {
        const h = await c.client.openLedger(ledgerId, { recovery: true, password: PASSWORD });
        history.recovered.push({ who, lastAddConfirmed: h.lastAddConfirmed });
        return h.lastAddConfirmed;
      } catch (e) {
        history.recoveryErrors.push({ who, code: errorCode(e) ?? String(e) });
        await sleep(50);
      }
    }
    return undefined;
  }

  function tailReader(c: SimClient): void {
    actor(c.node.id, async () => {
      await sleep(rng.next() * 200);
      const h = await c.client
        .openLedger(ledgerId, { recovery: false, password: PASSWORD })
        .catch(() => undefined);
      if (!h) return;
      let seen = -1;
      for (let round = 0; round < 40 && !h.closed; round++) {
        const lac = await h.waitForLastAddConfirmed(seen, 100).catch(() => seen);
        if (lac <= seen) continue;
        history.readerLacs.push(lac);
        const entries = await h.read(seen + 1, lac).catch(() => undefined);
        if (!entries) continue;
        for (const e of entries) {
          if (Buffer.compare(e.payload, history.payloadOf(e.entryId)) !== 0) {
            history.readerMismatches.push(`reader read a wrong payload for entry ${e.entryId}`);
          }
        }
        seen = lac;
      }
    });
  }

  // The atlas: wipes of bookies the ledger's metadata names are at most Qa − 1 in total. That
  // bounds destroyed copies of every entry by Qa − 1, and "unknown" answers (limbo) in every
  // write set by Qa − 1, so recovery can still decide. Wipes of other bookies are free.
  let memberWipes = 0;
  let healed = false;
  function wipeAllowed(bookieId: string): boolean {
    const member = cluster.ledgersNaming(bookieId).includes(ledgerId);
    return !member || memberWipes + 1 <= cfg.quorum.ackQuorum - 1;
  }

  function scheduleFaults(): void {
    const ids = [...cluster.bookies.keys()];
    for (let k = 0; k < cfg.faults; k++) {
      // Half the faults strike around the recoveries, where the protocol is most delicate.
      const at = rng.chance(0.5) ? rng.next() * activeMs : recoveryBase + (rng.next() - 0.3) * 100;
      const lengthMs = 5 + rng.next() * 300;
      const kind = rng.pick([
        'crash',
        'crash',
        'wipe',
        'partition',
        'partition',
        'read-only',
        'loss',
        'store',
      ]);
      const b = rng.pick(ids);
      const clientId = rng.pick(['w', 'r0', 'r1', 't0']);
      cluster.sched.schedule(at, () => {
        if (healed) return;
        if (kind === 'crash' || (kind === 'wipe' && !wipeAllowed(b))) {
          cluster.crashBookie(b);
        } else if (kind === 'wipe') {
          if (cluster.ledgersNaming(b).includes(ledgerId)) memberWipes++;
          cluster.wipeBookie(b);
        } else if (kind === 'partition') {
          cluster.net.partition(clientId, b);
          cluster.trace(`partition ${clientId}|${b}`);
        } else if (kind === 'read-only') {
          cluster.bookies.get(b)!.readOnly = true;
        } else if (kind === 'loss') {
          cluster.net.faults = { ...cluster.net.faults, lossProbability: 0.05 };
        } else {
          cluster.net.partition(clientId, 'etcd');
        }
        cluster.sched.schedule(lengthMs, () => {
          if (healed) return;
          cluster.restartBookie(b);
          cluster.bookies.get(b)!.readOnly = false;
          cluster.net.heal(clientId, b);
          cluster.net.heal(clientId, 'etcd');
          cluster.net.faults = cfg.network;
        });
      });
    }
    if (cfg.writerCrash) {
      cluster.sched.schedule(rng.next() * activeMs, () => {
        if (healed) return;
        writer.node.crash();
        crashWriter();
        cluster.trace('crash writer');
      });
    }
  }

  const phase1 = await cluster.sched.run(() => runningActors.size === 0, activeMs * 10 + 5_000);
  healed = true;
  cluster.healAll();
  const phase2 =
    phase1 === 'done'
      ? 'done'
      : await cluster.sched.run(() => runningActors.size === 0, cluster.sched.nowMs + 60_000);
  if (phase2 !== 'done')
    violations.push(`LIVENESS: ${[...runningActors].join(',')} still running after healing (${phase2})`);

  let finalLast = -2;
  if (ledgerId >= 0) {
    const verifier = cluster.newClient('verifier');
    let done = false;
    actor('verifier', async () => {
      const last = await recoverWithRetries(verifier, 'verifier', 5);
      if (last === undefined) {
        violations.push(
          `LIVENESS: the verifier could not recover the ledger: ${JSON.stringify(history.recoveryErrors.slice(-3))}`,
        );
        return;
      }
      finalLast = last;
      const h = await verifier.client.openLedger(ledgerId, { recovery: false, password: PASSWORD });
      let entries: LedgerEntry[] | undefined;
      for (let attempt = 0; entries === undefined; attempt++) {
        try {
          entries = last >= 0 ? await h.read(0, last) : [];
        } catch (e) {
          if (attempt >= 5 || (e as MagnetarError).retry !== 'retryable') throw e;
          await sleep(100);
        }
      }
      violations.push(...checkHistory(history, { lastEntryId: last, entries }));
      done = true;
    });
    await cluster.sched.run(() => done || runningActors.size === 0, cluster.sched.nowMs + 120_000);
    if (!done && violations.length === 0) violations.push('LIVENESS: verification did not finish');
  }
  return {
    config: cfg,
    violations,
    trace: cluster.traceLines,
    events: cluster.sched.executed,
    confirmed: history.confirmed.length,
    finalLastEntryId: finalLast,
    ensembleChanges: history.ensembleChanges,
  };
}
