/**
 * Binary LOOKUP throughput of one broker: `node bench/cluster-lookup-wire.ts [--seconds 5] [--connections 4] [--inflight 32]`.
 * Real processes: a private etcd, one bookie and two broker processes with cluster ownership; the
 * measured broker answers LOOKUP frames (Connect to itself or to the other broker, after every
 * bundle of public/default has an owner) from `--connections` TCP connections with `--inflight`
 * requests outstanding on each. Prints lookups/s, latency and the broker's CPU per lookup.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { spawnBroker, startStorageCluster } from '../test/broker/cluster.ts';
import { WireClient } from '../test/broker/wire-client.ts';
import { startLocalEtcd, stopAll } from '../test/harness/index.ts';
import { latencyHistogram } from './lib/histogram.ts';
import { runMain } from './lib/setup.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SECONDS = Number(arg('seconds', '5'));
const CONNECTIONS = Number(arg('connections', '4'));
const INFLIGHT = Number(arg('inflight', '32'));

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main(): Promise<void> {
  const etcd = await startLocalEtcd();
  const sc = await startStorageCluster(etcd.endpoint, 1, 1);
  try {
    const [measured, other] = await Promise.all([spawnBroker(sc, 'lk-1'), spawnBroker(sc, 'lk-2')]);
    const topics = Array.from({ length: 10_000 }, (_, i) => `persistent://public/default/lookup-${i}`);
    const clients = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => WireClient.open(measured.port)),
    );
    // Give every bundle an owner first.
    for (let i = 0; i < 200; i++) await clients[0].lookup(topics[i]);
    const answers = { connect: 0, redirect: 0, failed: 0 };
    const hist = latencyHistogram();
    const pid = measured.proc.child.pid!;
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const deadline = t0 + SECONDS * 1000;
    let k = 0;
    await Promise.all(
      clients.flatMap((c) =>
        Array.from({ length: INFLIGHT }, async () => {
          while (performance.now() < deadline) {
            const start = performance.now();
            const r = await c.lookup(topics[k++ % topics.length]);
            hist.record((performance.now() - start) * 1000);
            answers[r.response]++;
          }
        }),
      ),
    );
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const total = answers.connect + answers.redirect + answers.failed;
    for (const c of clients) c.close();
    console.log(
      `machine: ${cpus().length} cores, load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    console.log(
      `one broker, ${CONNECTIONS} connections × ${INFLIGHT} in flight: ${(total / elapsed).toFixed(0)} lookups/s ` +
        `(${JSON.stringify(answers)}; the other broker is ${other.url}), latency p50/p99/p99.9 ms ${hist.summary()}, ` +
        `broker CPU ${((cpu / elapsed) * 100).toFixed(0)}% of one core = ${(total / Math.max(cpu, 0.01)).toFixed(0)} lookups per broker CPU-second`,
    );
  } finally {
    await stopAll();
    await sc.stop();
    await etcd.stop();
  }
}

runMain(main);
