/**
 * Bookie add benchmark: `node bench/bookie-add.ts [--seconds 5] [--dir /path]`.
 * Measures the raw disk first (same filesystem, same run), then starts a real bookie process
 * (main.ts, default settings, no registration) and drives it over gRPC with a batching client:
 * for 1 KiB and 64 KiB entries over 1 and 100 ledgers, a closed-loop maximum (entries/s, MB/s,
 * per-entry latency) and an open-loop run at half that rate (latency from each entry's intended
 * send time, so client stalls count). Prints its figures; asserts nothing.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { type BatchEntry, BenchAddClient } from './lib/add-client.ts';
import { measureDisk } from './lib/disk.ts';
import { latencyHistogram } from './lib/histogram.ts';
import { quantilesBetween, scrapeHistograms } from './lib/prom-scrape.ts';
import { benchArgList, cpuSeconds } from './lib/setup.ts';

// The client allocates a buffer per message too: same GC setting as the bookie (see its main.ts).
setFlagsFromString('--external-memory-accounted-in-global-limit');

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SECONDS = Number(arg('seconds', '5'));
const WARMUP_MS = 1000;
const root = mkdtempSync(join(arg('dir', tmpdir()), 'bench-bookie-'));

interface Scenario {
  readonly entryBytes: number;
  readonly ledgers: number;
  /** Entries per gRPC message and messages in flight (closed loop). */
  readonly batch: number;
  readonly window: number;
  /** First ledger id (default: derived from the entry size). */
  readonly ledgerBase?: number;
}

const ALL_SCENARIOS: Scenario[] = [
  { entryBytes: 1024, ledgers: 1, batch: 64, window: 24 },
  { entryBytes: 1024, ledgers: 100, batch: 64, window: 24 },
  { entryBytes: 65536, ledgers: 1, batch: 4, window: 12 },
  { entryBytes: 65536, ledgers: 100, batch: 4, window: 12 },
];
const ONLY = arg('only', '');
const SCENARIOS = ALL_SCENARIOS.filter((s) => ONLY === '' || ONLY === `${s.entryBytes}x${s.ledgers}`).map(
  (s) => ({
    ...s,
    batch: Number(arg('batch', String(s.batch))),
    window: Number(arg('window', String(s.window))),
  }),
);
const SKIP_DISK = args.includes('--skip-disk');

interface BookieProc {
  address: string;
  httpPort: number;
  /** CPU seconds (user + system) the bookie process used so far. */
  cpuSeconds: () => Promise<number>;
  /** Peak resident memory of the bookie process (MiB). */
  peakRssMiB: () => Promise<number>;
  stop: () => Promise<void>;
}

async function startBookie(): Promise<BookieProc> {
  const child = spawn(
    process.execPath,
    [
      ...benchArgList('node-args'),
      join(import.meta.dirname, '../services/bookie/main.ts'),
      '--registration',
      'false',
      '--bind-host',
      '127.0.0.1',
      '--grpc-port',
      '0',
      '--http-port',
      '0',
      '--journal-dir',
      join(root, 'journal'),
      '--ledger-dir',
      join(root, 'ledgers'),
      '--log-level',
      'info',
      ...benchArgList('bookie-args'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [address, httpPort] = await new Promise<[string, number]>((resolve, reject) => {
    let buf = '';
    const tee = arg('bookie-stdout', '');
    child.stdout!.on('data', (d: Buffer) => {
      if (tee) appendFileSync(tee, d);
      buf += d.toString();
      const m = /"grpcPort":(\d+),"httpPort":(\d+)/.exec(buf);
      if (m) resolve([`127.0.0.1:${m[1]}`, Number(m[2])]);
      if (buf.length > 1 << 20) buf = '';
    });
    child.once('exit', (code) => reject(new Error(`bookie exited ${code}`)));
  });
  return {
    address,
    httpPort,
    peakRssMiB: async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    },
    cpuSeconds: () => cpuSeconds(child.pid),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function makeBatch(s: Scenario, next: number[], rr: { i: number }): BatchEntry[] {
  const out: BatchEntry[] = new Array(s.batch);
  for (let k = 0; k < s.batch; k++) {
    const l = rr.i++ % s.ledgers;
    out[k] = { ledgerId: 1 + l + (s.ledgerBase ?? s.entryBytes * 1000), entryId: next[l]++ };
  }
  return out;
}

async function closedLoop(address: string, s: Scenario, next: number[], seconds = SECONDS) {
  const client = new BenchAddClient(address);
  const payload = Buffer.alloc(s.entryBytes, 0x5a);
  const hist = latencyHistogram();
  const rr = { i: 0 };
  const t0 = performance.now();
  const end = t0 + WARMUP_MS + seconds * 1000;
  let acked = 0;
  let failed = 0;
  let measuredFrom = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (client.inFlight < s.window && performance.now() < end) {
        const sentAt = performance.now();
        void client.send(makeBatch(s, next, rr), payload).then((r) => {
          if (r.at >= t0 + WARMUP_MS) {
            if (measuredFrom === 0) measuredFrom = r.at;
            acked += r.ok;
            failed += r.failed;
            hist.record((r.at - sentAt) * 1000, r.ok);
          }
          if (client.inFlight === 0 && performance.now() >= end) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  const secs = (performance.now() - measuredFrom) / 1000;
  client.close();
  return { rate: acked / secs, mbs: (acked * s.entryBytes) / 1e6 / secs, hist, failed };
}

/**
 * Open loop at a fixed rate (1 ms timer). Two latencies per entry: from the send call to the ack
 * (as reference/peers.md measures), and from the entry's intended send time (adds the client's
 * own lag, i.e. no coordinated omission).
 */
async function openLoop(address: string, s: Scenario, rate: number, next: number[]) {
  const client = new BenchAddClient(address);
  const payload = Buffer.alloc(s.entryBytes, 0x5a);
  const hist = latencyHistogram();
  const intendedHist = latencyHistogram();
  const rr = { i: 0 };
  const t0 = performance.now() + 10;
  const total = Math.floor(rate * (SECONDS - 1));
  const warm = Math.floor(rate * 0.5);
  let scheduled = 0;
  let failed = 0;
  await new Promise<void>((resolve) => {
    let done = 0;
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      while (scheduled < due) {
        const n = Math.min(s.batch, due - scheduled);
        const first = scheduled;
        scheduled += n;
        const batch = makeBatch({ ...s, batch: n }, next, rr);
        const sentAt = performance.now();
        void client.send(batch, payload).then((r) => {
          failed += r.failed;
          for (let i = 0; i < n; i++) {
            if (first + i < warm) continue;
            hist.record((r.at - sentAt) * 1000);
            intendedHist.record((r.at - (t0 + ((first + i) / rate) * 1000)) * 1000);
          }
          done += n;
          if (done === total) resolve();
        });
      }
      if (scheduled >= total) clearInterval(tick);
    }, 1);
  });
  client.close();
  return { hist, intendedHist, failed };
}

/** Linux PSI: share of time some task waited for a CPU (the machine is shared). */
async function pressure(): Promise<string> {
  const text = await readFile('/proc/pressure/cpu', 'utf8').catch(() => '');
  return /avg10=([\d.]+)/.exec(text)?.[1] ? `${/avg10=([\d.]+)/.exec(text)![1]}% (avg10)` : 'n/a';
}

/** The bookie's own view: journal fsync latency and group sizes, checkpoint time (from /metrics). */
async function journalFigures(httpPort: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const pick = (name: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}_sum`) || l.startsWith(`${name}_count`))
      .map((l) => Number(l.split(' ').pop()));
  const avg = (name: string, scale = 1) => {
    const [sum, count] = pick(name);
    return count ? ((sum / count) * scale).toFixed(2) : '-';
  };
  return (
    `bookie metrics: journal fsync avg ${avg('magnetar_bookie_journal_fsync_seconds', 1000)} ms, ` +
    `write avg ${avg('magnetar_bookie_journal_write_seconds', 1000)} ms, ` +
    `group avg ${avg('magnetar_bookie_journal_group_records')} records / ${avg('magnetar_bookie_journal_group_bytes', 1 / 1024)} KiB, ` +
    `checkpoint avg ${avg('magnetar_bookie_checkpoint_seconds', 1000)} ms`
  );
}

async function main() {
  console.log(
    `bookie add benchmark — ${cpus().length} cpus (${cpus()[0]?.model}), load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`dir ${root}, ${SECONDS} s per phase, cpu pressure: ${await pressure()}\n`);
  console.log('raw disk (same filesystem):');
  const disk = SKIP_DISK
    ? [{ name: 'skipped', mbPerSec: 1, opsPerSec: 0, fsyncMs: '-' }]
    : await measureDisk(root, Math.min(3, SECONDS));
  for (const d of disk) {
    console.log(
      `  ${d.name}: ${d.mbPerSec.toFixed(1)} MB/s, ${d.opsPerSec.toFixed(0)} fsync/s, fsync p50/p99/p99.9 ${d.fsyncMs} ms`,
    );
  }
  const seqMbs = disk[0].mbPerSec;
  const seqDropMbs = disk[3]?.mbPerSec ?? 0;
  const bookie = await startBookie();
  console.log(`\nbookie at ${bookie.address} (default settings)\n`);
  // Warm-up (not reported): JIT, and journal files recycled rather than freshly zero-filled, as in
  // a bookie that has been running for a while.
  const warmup = Number(arg('warmup-seconds', '3'));
  if (warmup > 0)
    await closedLoop(bookie.address, { ...ALL_SCENARIOS[3], ledgers: 1, ledgerBase: 1 }, [0], warmup);
  const next = new Array(100).fill(0);
  const rows: string[] = [];
  for (const s of SCENARIOS) {
    const counters = new Array(s.ledgers).fill(0).map((_, i) => next[i] ?? 0);
    const cpu0 = await bookie.cpuSeconds();
    const own0 = process.cpuUsage();
    const fixedRate = Number(arg('open-rate', '0'));
    const max =
      fixedRate > 0
        ? { rate: fixedRate * 2, mbs: 0, hist: latencyHistogram(), failed: 0 }
        : await closedLoop(bookie.address, s, counters);
    const cpu1 = await bookie.cpuSeconds();
    const own1 = process.cpuUsage(own0);
    const entries = max.rate * SECONDS;
    const cpuNote =
      `cpu/entry: bookie ${(((cpu1 - cpu0) * 1e6) / entries).toFixed(1)} us, ` +
      `client ${((own1.user + own1.system) / entries).toFixed(1)} us`;
    const stages = ['magnetar_bookie_add_batch_latency_seconds', 'magnetar_bookie_journal_fsync_seconds'];
    const before = await scrapeHistograms(bookie.httpPort, stages);
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const half = await openLoop(bookie.address, s, max.rate / 2, counters);
    loopDelay.disable();
    const after = await scrapeHistograms(bookie.httpPort, stages);
    const inside =
      `bookie-side at half rate: add message receive→reply ${quantilesBetween(before[0], after[0])}, journal fsync ${quantilesBetween(before[1], after[1])}; ` +
      `bench client event-loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(1)} / max ${(loopDelay.max / 1e6).toFixed(1)} ms`;
    const row =
      `${String(s.entryBytes).padStart(6)} B x ${String(s.ledgers).padStart(3)} ledgers | ` +
      `max ${max.rate.toFixed(0).padStart(7)} entries/s ${max.mbs.toFixed(1).padStart(6)} MB/s ` +
      `(${((100 * max.mbs) / seqMbs).toFixed(0)}% of raw seq${seqDropMbs ? `, ${((100 * max.mbs) / seqDropMbs).toFixed(0)}% of raw seq with page-cache drop` : ''}) ` +
      `p50/p99/p99.9 ${max.hist.summary()} ms | ` +
      `at ${(max.rate / 2).toFixed(0)}/s: p50/p99/p99.9 ${half.hist.summary()} ms ` +
      `(from intended send time ${half.intendedHist.summary()} ms) | ${cpuNote}` +
      (max.failed + half.failed > 0 ? ` | FAILED ${max.failed + half.failed}` : '');
    console.log(row);
    if (args.includes('--metrics')) console.log(`    ${inside}`);
    rows.push(row);
  }
  if (args.includes('--metrics')) console.log(await journalFigures(bookie.httpPort));
  console.log(`bookie peak RSS ${(await bookie.peakRssMiB()).toFixed(0)} MiB`);
  console.log(
    `\nload at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, cpu pressure: ${await pressure()}`,
  );
  await bookie.stop();
  rmSync(root, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  rmSync(root, { recursive: true, force: true });
  process.exit(1);
});
