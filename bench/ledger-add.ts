/**
 * Ledger add benchmark: `node bench/ledger-add.ts [--seconds 4] [--only 3/2/2x1024] [--bookie-args '...']
 * [--bookie-node-args '...']`.
 * Starts a private etcd and three bookie processes (services/bookie/main.ts, default durability:
 * fsynced group-committed journal), then drives the real ledger client (lib/ledger) for
 * E=Qw=Qa=1 and E=3 Qw=2 Qa=2 with 1 KiB and 64 KiB entries:
 *   - closed loop: as many appends in flight as the client's backpressure allows, for the maximum
 *     entries/s and MB/s;
 *   - open loop at half that rate: append latency p50 / p99 / p99.9, measured from each append's
 *     intended start (so stalls of this process count) and from the actual call. It starts after
 *     a pause of SETTLE_MS (the bookies write out what the closed loop left in their write caches)
 *     and its first WARMUP_MS are not counted: the figures are the steady state at that rate.
 * Each configuration runs `--rounds` times (interleaved) and the best round is reported.
 * Prints figures; asserts nothing. The machine is shared, so figures move with its load.
 */
import { readFileSync } from 'node:fs';
import type { WritableLedger } from '../lib/ledger/api.ts';
import { latencyHistogram } from './lib/histogram.ts';
import { quantilesBetween, scrapeHistograms } from './lib/prom-scrape.ts';
import {
  benchArg,
  benchArgList,
  bookieHttpPort,
  cpuSeconds,
  loadAverages,
  startBenchBookies,
} from './lib/setup.ts';

const SECONDS = Number(benchArg('seconds', '4'));
/** Each configuration runs this many times, interleaved; the best round is reported. */
const ROUNDS = Number(benchArg('rounds', '2'));
const WARMUP_MS = 500;
const SETTLE_MS = Number(benchArg('settle-ms', '1000'));
const ONLY = benchArg('only', '');

interface Config {
  readonly name: string;
  readonly q: { ensembleSize: number; writeQuorum: number; ackQuorum: number };
  readonly entryBytes: number;
  /** Appends in flight in the closed loop. */
  readonly window: number;
}

const CONFIGS: Config[] = [
  {
    name: '1/1/1x1024',
    q: { ensembleSize: 1, writeQuorum: 1, ackQuorum: 1 },
    entryBytes: 1024,
    window: 2000,
  },
  {
    name: '3/2/2x1024',
    q: { ensembleSize: 3, writeQuorum: 2, ackQuorum: 2 },
    entryBytes: 1024,
    window: 2000,
  },
  {
    name: '1/1/1x65536',
    q: { ensembleSize: 1, writeQuorum: 1, ackQuorum: 1 },
    entryBytes: 65536,
    window: 256,
  },
  {
    name: '3/2/2x65536',
    q: { ensembleSize: 3, writeQuorum: 2, ackQuorum: 2 },
    entryBytes: 65536,
    window: 256,
  },
].filter((c) => ONLY === '' || c.name === ONLY);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How much of the time runnable tasks waited for a CPU (Linux PSI), to judge the figures. */
function cpuPressure(): string {
  try {
    const m = /avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? `cpu pressure ${m[1]}% (avg60)` : '';
  } catch {
    return '';
  }
}

/** Closed loop for `ms`: returns entries confirmed per second (after a warm-up). */
async function closedLoop(
  ledger: WritableLedger,
  payload: Buffer,
  window: number,
  ms: number,
): Promise<number> {
  let counting = false;
  let confirmed = 0;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      await ledger.append(payload);
      if (counting) confirmed++;
    }
  };
  const workers = Array.from({ length: window }, worker);
  await sleep(WARMUP_MS);
  counting = true;
  const t0 = performance.now();
  await sleep(ms);
  const rate = confirmed / ((performance.now() - t0) / 1000);
  stop = true;
  await Promise.all(workers);
  return rate;
}

/**
 * Open loop at `rate` entries/s for `ms`: latency from each append's intended start (stalls of
 * this process count) and from its actual call (the client and bookies alone).
 */
async function openLoop(ledger: WritableLedger, payload: Buffer, rate: number, ms: number) {
  const h = latencyHistogram();
  const fromCall = latencyHistogram();
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  let issued = 0;
  while (performance.now() - t0 < ms + WARMUP_MS) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; issued < due; issued++) {
      const intended = t0 + (issued / rate) * 1000;
      const called = performance.now();
      inflight.push(
        ledger.append(payload).then(() => {
          const now = performance.now();
          if (intended - t0 < WARMUP_MS) return;
          h.record((now - intended) * 1000);
          fromCall.record((now - called) * 1000);
        }),
      );
    }
    await sleep(1);
  }
  await Promise.all(inflight);
  return { h, fromCall };
}

/**
 * CPU of the closed loop (warm-up and drain included, so per-entry figures are approximate):
 * share of one core and µs per confirmed entry, for this process (the ledger client) and the
 * bookies together. On two shared cores their sum bounds the rate.
 */
function closedLoopCpu(
  before: { bookies: number[]; own: NodeJS.CpuUsage },
  bookiesAfter: number[],
  rate: number,
  t0: number,
): string {
  const secs = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(before.own);
  const ownSecs = (own.user + own.system) / 1e6;
  const bookieSecs = bookiesAfter.reduce((a, b, i) => a + b - before.bookies[i], 0);
  const entries = rate * secs;
  const us = (s: number) => ((s * 1e6) / entries).toFixed(1);
  const pct = (s: number) => `${((s / secs) * 100).toFixed(0)}%`;
  return `client ${pct(ownSecs)} of a core (${us(ownSecs)} us/entry), bookies ${pct(bookieSecs)} (${us(bookieSecs)} us/entry)`;
}

async function main(): Promise<void> {
  const bench = await startBenchBookies(
    '/bench',
    3,
    { pendingAddsMax: 20_000, pendingAddBytesMax: 256 * 1024 * 1024 },
    benchArgList('bookie-args'),
    benchArgList('bookie-node-args'),
  );
  const { client } = bench;
  console.log(`load average before: ${loadAverages()}; ${SECONDS} s phases`);
  console.log(
    'config (E/Qw/Qa x bytes) | max entries/s | max MB/s | open-loop rate | latency p50 / p99 / p99.9 ms',
  );
  const maxRate = new Map<string, number>();
  const best = new Map<string, string>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of CONFIGS) {
        const payload = Buffer.alloc(c.entryBytes, 7);
        const ledger = await client.createLedger({ ...c.q, password: Buffer.from('bench') });
        const bookiePids = bench.rc.bookies.map((b) => b.proc.child.pid);
        const cpuBefore = { bookies: await Promise.all(bookiePids.map(cpuSeconds)), own: process.cpuUsage() };
        const tClosed = performance.now();
        const rate = await closedLoop(ledger, payload, c.window, SECONDS * 1000);
        const cpuNote = closedLoopCpu(
          cpuBefore,
          await Promise.all(bookiePids.map(cpuSeconds)),
          rate,
          tClosed,
        );
        const half = Math.max(1, Math.floor(rate / 2));
        await sleep(SETTLE_MS);
        const ports = bench.rc.bookies.map((b) => bookieHttpPort(b.proc.logs()));
        const stages = ['magnetar_bookie_add_batch_latency_seconds', 'magnetar_bookie_journal_fsync_seconds'];
        const stage = (port: number) => scrapeHistograms(port, stages);
        const stagesBefore = await Promise.all(ports.map(stage));
        const { h, fromCall } = await openLoop(ledger, payload, half, SECONDS * 1000);
        const stagesAfter = await Promise.all(ports.map(stage));
        await ledger.close();
        const mbs = (rate * c.entryBytes) / 1e6;
        const line = `${c.name.padEnd(24)} | ${rate.toFixed(0).padStart(13)} | ${mbs.toFixed(1).padStart(8)} | ${String(half).padStart(14)} | ${h.summary()} | ${fromCall.summary()}`;
        console.log(`round ${round + 1}: ${line}`);
        console.log(`         closed-loop CPU: ${cpuNote}`);
        for (const [i, b] of bench.rc.bookies.entries()) {
          const [add0, sync0] = stagesBefore[i];
          const [add1, sync1] = stagesAfter[i];
          if ((add1.get(Number.POSITIVE_INFINITY) ?? 0) === (add0.get(Number.POSITIVE_INFINITY) ?? 0))
            continue;
          console.log(
            `         open loop, ${b.id}: add msg→reply ${quantilesBetween(add0, add1)}; fsync ${quantilesBetween(sync0, sync1)}`,
          );
        }
        if (rate > (maxRate.get(c.name) ?? 0)) {
          maxRate.set(c.name, rate);
          best.set(c.name, line);
        }
      }
    }
    console.log('best round per configuration:');
    for (const c of CONFIGS) console.log(best.get(c.name));
    for (const bytes of [1024, 65536]) {
      const single = maxRate.get(`1/1/1x${bytes}`);
      const replicated = maxRate.get(`3/2/2x${bytes}`);
      if (single && replicated) {
        console.log(
          `${bytes} B: replicated / single-bookie throughput = ${((replicated / single) * 100).toFixed(0)}%`,
        );
      }
    }
    console.log(`load average after: ${loadAverages()}; ${cpuPressure()}`);
  } finally {
    await bench.stop();
  }
}

await main();
