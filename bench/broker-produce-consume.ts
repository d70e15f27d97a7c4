/**
 * Broker produce/consume benchmark: `node bench/broker-produce-consume.ts [--seconds 5]
 * [--batch 100] [--only 1bookie|3bookies] [--phases closed,open] [--rate 20000] [--window 64]
 * [--bookie-args '...'] [--bookie-node-args '...']`.
 * Starts a private etcd, three bookie processes (fsynced group-committed journals) and, per
 * scenario, a broker process (services/broker/main.ts) with the topic's E/Qw/Qa:
 *   - 1bookie : E=Qw=Qa=1   - 3bookies: E=3, Qw=2, Qa=2
 * and drives it over the Pulsar binary protocol from this process (lib/wire): one producer
 * sending batches of `--batch` 1 KiB messages, one Exclusive consumer acking cumulatively.
 *   1. open loop at 20k msg/s (batches every 1 ms, like a client's 1 ms batching delay), once
 *      the bookies are quiet and after an unreported 2 s warm-up of the same rate: publish
 *      latency (batch due → SEND_RECEIPT) and
 *      end-to-end latency (batch due → MESSAGE received), p50 / p99 / p99.9, counted per
 *      message and measured from the time each batch was due (not when the bench got to send
 *      it), plus the bench's own send lag and the stage split the broker and the bookies
 *      measure themselves (their latency histograms over the same phase);
 *   2. closed loop: as many batches in flight as the window allows → max msg/s in and out.
 * Node flags for the broker process: BROKER_NODE_ARGS (command line, e.g. V8 flags) and
 * BROKER_NODE_OPTIONS (NODE_OPTIONS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`); with
 * BENCH_LOG_DIR set, each broker's and bookie's output (logs, --trace-gc lines) is kept there.
 * Prints figures; asserts nothing. The machine is shared, so figures move with its load.
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { builtinPolicyDefaults } from '../lib/policies/defaults.ts';
import { createNamespace } from '../lib/policies/namespaces.ts';
import { PolicyStore } from '../lib/policies/store.ts';
import { spawnProcess, startLocalEtcd, stopAll } from '../test/harness/index.ts';
import { startRealCluster } from '../test/ledger/real-cluster.ts';
import { BenchClient } from './broker-bench-client.ts';
import { latencyHistogram } from './lib/histogram.ts';
import { benchArgList, benchBookieArgs, bookieHttpPort, cpuSeconds } from './lib/setup.ts';
import { eventLoopDelay, quantilesBetween, scrapeHistogram } from './lib/prom-scrape.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SECONDS = Number(arg('seconds', '5'));
// --phases closed,open (default both)
const BATCH = Number(arg('batch', '100'));
const WINDOW = Number(arg('window', '64'));
const OPEN_RATE = Number(arg('rate', '20000'));
const ONLY = arg('only', '');
const PHASES = arg('phases', 'closed,open').split(',');
/** Unreported warm-up before each phase (peers.md's fixed-rate runs warm up 2 s). */
const WARMUP_MS = 2000;
const SETTLE_MAX_MS = 20_000;
const SETTLE_WINDOW_MS = 500;
const SETTLE_CPU_SHARE = 0.05;
const MSG_BYTES = 1024;

const SCENARIOS = [
  { name: '1bookie', e: 1, qw: 1, qa: 1 },
  { name: '3bookies', e: 3, qw: 2, qa: 2 },
].filter((s) => ONLY === '' || s.name === ONLY);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Closed loop: the most messages per second in and out, and the CPU each process used. */
async function closedLoop(
  client: BenchClient,
  topic: string,
  brokerPid: number | undefined,
  bookiePids: (number | undefined)[],
) {
  const producer = await client.producer(topic);
  const consumer = await client.consumer(topic, 'bench');
  let counting = false;
  let sent = 0;
  let received = 0;
  consumer.onBatch((count) => {
    if (counting) received += count;
  });
  let stop = false;
  const inflight = new Set<Promise<unknown>>();
  const pump = async () => {
    while (!stop) {
      while (inflight.size < WINDOW && !stop) {
        const p = producer.sendBatch(BATCH, MSG_BYTES).then(() => {
          if (counting) sent += BATCH;
          inflight.delete(p);
        });
        inflight.add(p);
      }
      await Promise.race(inflight);
    }
  };
  const running = pump();
  await sleep(WARMUP_MS);
  counting = true;
  const t0 = performance.now();
  const cpu0 = await cpuSeconds(brokerPid);
  const bookieCpu0 = await Promise.all(bookiePids.map(cpuSeconds));
  const self0 = process.cpuUsage();
  await sleep(SECONDS * 1000);
  const secs = (performance.now() - t0) / 1000;
  const brokerCpu = (await cpuSeconds(brokerPid)) - cpu0;
  const bookieCpu =
    (await Promise.all(bookiePids.map(cpuSeconds))).reduce((a, b) => a + b, 0) -
    bookieCpu0.reduce((a, b) => a + b, 0);
  const selfUse = process.cpuUsage(self0);
  const benchCpu = (selfUse.user + selfUse.system) / 1e6;
  const inRate = sent / secs;
  const outRate = received / secs;
  stop = true;
  await running;
  await Promise.all(inflight);
  await consumer.close();
  await producer.close();
  // broker CPU per 1000 messages in (and the same 1000 out)
  const cpuMsPer1k = sent > 0 ? (brokerCpu * 1000 * 1000) / sent : 0;
  const per1k = (cpu: number) => (sent > 0 ? (cpu * 1e6) / sent : 0);
  return {
    inRate,
    outRate,
    cpuMsPer1k,
    cpuShare: brokerCpu / secs,
    bookiesMsPer1k: per1k(bookieCpu),
    benchMsPer1k: per1k(benchCpu),
    bookiesShare: bookieCpu / secs,
    benchShare: benchCpu / secs,
  };
}

/** Quantiles of a broker or bookie histogram over a phase (stage split of the open loop). */
interface StageProbe {
  readonly label: string;
  readonly port: number;
  readonly metric: string;
}

async function openLoop(
  client: BenchClient,
  topic: string,
  probes: StageProbe[],
  pids: { broker: number | undefined; bookies: (number | undefined)[] },
) {
  const producer = await client.producer(topic);
  const consumer = await client.consumer(topic, 'bench');
  const publish = latencyHistogram();
  const e2e = latencyHistogram();
  const sendLag = latencyHistogram();
  /** Publish latency from the actual send call (as reference/peers.md measures peers: publish call → ack). */
  const publishFromCall = latencyHistogram();
  let recording = false;
  consumer.onBatch((count, sentAtMs) => {
    if (recording) e2e.record((performance.timeOrigin + performance.now() - sentAtMs) * 1000, count);
  });
  const perBatch = Math.max(1, Math.round(OPEN_RATE / 1000));
  const inflight = new Set<Promise<void>>();
  let maxInflight = 0;
  // Open loop: batch k is due at t0 + k ms whatever happened before; latencies count from that
  // intended time (no coordinated omission), so a late event loop shows as latency.
  const run = async (ms: number, record: boolean) => {
    const t0 = performance.now();
    let batches = 0;
    while (performance.now() - t0 < ms) {
      const due = Math.floor(performance.now() - t0);
      for (; batches < due; batches++) {
        const intended = t0 + batches;
        const called = performance.now();
        if (record) sendLag.record((called - intended) * 1000);
        const p: Promise<void> = producer
          .sendBatch(perBatch, MSG_BYTES, performance.timeOrigin + intended)
          .then(() => {
            inflight.delete(p);
            if (record) {
              const now = performance.now();
              publish.record((now - intended) * 1000, perBatch);
              publishFromCall.record((now - called) * 1000, perBatch);
            }
          });
        inflight.add(p);
        if (inflight.size > maxInflight) maxInflight = inflight.size;
      }
      await sleep(1);
    }
    return batches;
  };
  await run(WARMUP_MS, false);
  const before = await Promise.all(probes.map((p) => scrapeHistogram(p.port, p.metric)));
  const loopPorts = [...new Set(probes.map((p) => p.port))];
  await Promise.all(loopPorts.map(eventLoopDelay));
  recording = true;
  maxInflight = 0;
  const cpu = await cpuSnapshot(pids);
  const tRun = performance.now();
  const batches = await run(SECONDS * 1000, true);
  const cpuUsed = cpuDelta(cpu, await cpuSnapshot(pids), (performance.now() - tRun) / 1000);
  await Promise.all(inflight);
  // Event-loop delay first: every /metrics scrape restarts its measurement.
  const loops = await Promise.all(loopPorts.map(eventLoopDelay));
  const after = await Promise.all(probes.map((p) => scrapeHistogram(p.port, p.metric)));
  await sleep(500);
  recording = false;
  await consumer.close();
  await producer.close();
  const stages = probes.map((p, i) => `${p.label}: ${quantilesBetween(before[i], after[i])}`);
  for (const [i, port] of loopPorts.entries()) {
    const owner = probes.find((p) => p.port === port)?.label.split(' ')[0] ?? String(port);
    stages.push(`${owner} ${loops[i]}`);
  }
  return {
    publish,
    publishFromCall,
    e2e,
    sendLag,
    maxInflight,
    stages,
    cpuUsed,
    rate: (batches * perBatch) / SECONDS,
  };
}

/**
 * Wait (at most SETTLE_MAX_MS) until the bookies together use under SETTLE_CPU_SHARE of a core
 * over SETTLE_WINDOW_MS: checkpoints of an earlier burst are done.
 */
async function settled(pids: (number | undefined)[]): Promise<void> {
  const deadline = performance.now() + SETTLE_MAX_MS;
  const bookiesCpu = async () => (await cpuSnapshot({ broker: undefined, bookies: pids })).bookies;
  while (performance.now() < deadline) {
    const before = await bookiesCpu();
    await sleep(SETTLE_WINDOW_MS);
    const used = (await bookiesCpu()) - before;
    if (used / (SETTLE_WINDOW_MS / 1000) < SETTLE_CPU_SHARE) return;
  }
}

interface CpuSnapshot {
  broker: number;
  bookies: number;
  bench: NodeJS.CpuUsage;
}

async function cpuSnapshot(pids: { broker: number | undefined; bookies: (number | undefined)[] }) {
  const bookies = await Promise.all(pids.bookies.map(cpuSeconds));
  return {
    broker: await cpuSeconds(pids.broker),
    bookies: bookies.reduce((a, b) => a + b, 0),
    bench: process.cpuUsage(),
  } satisfies CpuSnapshot;
}

/** Share of one core each side used between two snapshots `secs` apart, e.g. "broker 45%". */
function cpuDelta(a: CpuSnapshot, b: CpuSnapshot, secs: number): string {
  const bench = process.cpuUsage(a.bench);
  const pct = (s: number) => `${((s / secs) * 100).toFixed(0)}%`;
  return `broker ${pct(b.broker - a.broker)}, bookies (all) ${pct(b.bookies - a.bookies)}, bench client ${pct(
    (bench.user + bench.system) / 1e6,
  )} of a core`;
}

/** Counts and pause totals of the broker's GCs, when it ran with --trace-gc. */
function gcSummary(logs: string): string | undefined {
  const kinds = new Map<string, number[]>();
  for (const m of logs.matchAll(
    /: (Mark-Compact|Scavenge|Minor Mark-Sweep) .*?MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \//g,
  )) {
    const list = kinds.get(m[1]) ?? [];
    list.push(Number(m[2]));
    kinds.set(m[1], list);
  }
  if (kinds.size === 0) return undefined;
  return [...kinds]
    .map(
      ([k, v]) =>
        `${k} ${v.length}x, ${v.reduce((a, b) => a + b, 0).toFixed(0)} ms in all, longest ${Math.max(...v).toFixed(1)} ms`,
    )
    .join('; ');
}

async function main(): Promise<void> {
  const etcd = await startLocalEtcd();
  const rc = await startRealCluster({
    etcdEndpoint: etcd.endpoint,
    prefix: '/bench-broker',
    bookies: 3,
    extraBookieArgs: benchBookieArgs(benchArgList('bookie-args')),
    bookieNodeArgs: benchArgList('bookie-node-args'),
  });
  const store = await rc.openStore();
  const ps = new PolicyStore(store, { cluster: rc.cluster, defaults: builtinPolicyDefaults() });
  await ps.start();
  await ps.createCluster(rc.cluster, {});
  await ps.createTenant('public', { adminRoles: [], allowedClusters: [rc.cluster] });
  await createNamespace(ps, { tenant: 'public', namespace: 'default' });
  await ps.close();
  console.log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; ${SECONDS} s phases; batches of ${BATCH} x ${MSG_BYTES} B`,
  );
  try {
    for (const s of SCENARIOS) {
      const broker = spawnProcess({
        name: `broker-${s.name}`,
        args: [
          ...(process.env.BROKER_NODE_ARGS ? process.env.BROKER_NODE_ARGS.split(' ') : []),
          join(import.meta.dirname, '../services/broker/main.ts'),
          ...['--metadata-url', rc.metadataUrl, '--cluster-name', rc.cluster],
          ...['--bind-address', '127.0.0.1', '--broker-service-port', '0', '--web-service-port', '0'],
          ...['--managed-ledger-default-ensemble-size', String(s.e)],
          ...['--managed-ledger-default-write-quorum', String(s.qw)],
          ...['--managed-ledger-default-ack-quorum', String(s.qa)],
        ],
        env: {
          MAGNETAR_LOG_LEVEL: 'info',
          ...(process.env.BROKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BROKER_NODE_OPTIONS } : {}),
        },
      });
      const ready = JSON.parse(await broker.waitForOutput(/"msg":"broker ready"/, 60_000)) as {
        brokerServicePort: number;
        webServicePort: number;
      };
      const probes: StageProbe[] = [
        {
          label: 'broker SEND→receipt',
          port: ready.webServicePort,
          metric: 'magnetar_broker_publish_latency_seconds',
        },
        ...rc.bookies.flatMap((b) => {
          const port = bookieHttpPort(b.proc.logs());
          return [
            { label: `${b.id} add msg→reply`, port, metric: 'magnetar_bookie_add_batch_latency_seconds' },
            { label: `${b.id} fsync`, port, metric: 'magnetar_bookie_journal_fsync_seconds' },
          ];
        }),
      ];
      const client = await BenchClient.connect(ready.brokerServicePort);
      // The latency phase first, on bookies that are quiet (not still flushing an earlier
      // scenario's burst): like peers.md's fixed-rate runs, which each ran on their own.
      const bookiePids = rc.bookies.map((b) => b.proc.child.pid);
      const open = PHASES.includes('open')
        ? await settled(bookiePids).then(() =>
            openLoop(client, `persistent://public/default/bench-lat-${s.name}`, probes, {
              broker: broker.child.pid,
              bookies: bookiePids,
            }),
          )
        : undefined;
      const max = PHASES.includes('closed')
        ? await closedLoop(
            client,
            `persistent://public/default/bench-max-${s.name}`,
            broker.child.pid,
            bookiePids,
          )
        : undefined;
      const cpuLine =
        max &&
        `  CPU per 1000 msgs in+out: bookies (all) ${max.bookiesMsPer1k.toFixed(2)} ms (${(max.bookiesShare * 100).toFixed(0)}% of a core), bench client ${max.benchMsPer1k.toFixed(2)} ms (${(max.benchShare * 100).toFixed(0)}%); load now ${loadavg()[0].toFixed(2)}`;
      client.close();
      const gcLine = gcSummary(broker.logs());
      const logDir = process.env.BENCH_LOG_DIR;
      if (logDir) {
        writeFileSync(join(logDir, `broker-${s.name}.log`), broker.logs());
        for (const b of rc.bookies) writeFileSync(join(logDir, `${b.id}-${s.name}.log`), b.proc.logs());
      }
      await broker.kill('SIGTERM');
      console.log(`\n[${s.name}] E=${s.e} Qw=${s.qw} Qa=${s.qa}`);
      if (max) {
        console.log(
          `  closed loop (window ${WINDOW} batches): in ${max.inRate.toFixed(0)} msg/s (${((max.inRate * MSG_BYTES) / 1e6).toFixed(1)} MB/s), out ${max.outRate.toFixed(0)} msg/s; broker CPU ${max.cpuMsPer1k.toFixed(2)} ms per 1000 msgs in+out (${(max.cpuShare * 100).toFixed(0)}% of a core)`,
        );
        console.log(cpuLine);
      }
      if (gcLine) console.log(`  broker GC (--trace-gc, whole run): ${gcLine}`);
      if (open) {
        console.log(
          `  open loop at ${open.rate.toFixed(0)} msg/s: publish p50 / p99 / p99.9 ms = ${open.publish.summary()}`,
        );
        console.log(
          `  open loop at ${open.rate.toFixed(0)} msg/s: publish from the send call (peers.md's measure) p50 / p99 / p99.9 ms = ${open.publishFromCall.summary()}`,
        );
        console.log(
          `  open loop at ${open.rate.toFixed(0)} msg/s: end-to-end p50 / p99 / p99.9 ms = ${open.e2e.summary()}`,
        );
        console.log(
          `  open loop: bench send lag p50 / p99 / p99.9 ms = ${open.sendLag.summary()}; most batches in flight ${open.maxInflight}`,
        );
        console.log(`  open loop CPU: ${open.cpuUsed}; load now ${loadavg()[0].toFixed(2)}`);
        for (const line of open.stages) console.log(`    ${line}`);
      }
    }
    console.log(
      `\nload average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await store.close();
    // SIGTERM first: bookies then exit cleanly (and write --cpu-prof profiles when asked to).
    await Promise.all(rc.bookies.map((b) => b.kill('SIGTERM').catch(() => undefined)));
    await rc.stop();
    await stopAll();
    await etcd.stop();
  }
}

await main();
