/**
 * Broker produce/consume benchmark: `node bench/broker-produce-consume.ts [--seconds 5]
 * [--batch 100] [--only 1bookie|3bookies]`.
 * Starts a private etcd, three bookie processes (fsynced group-committed journals) and, per
 * scenario, a broker process (services/broker/main.ts) with the topic's E/Qw/Qa:
 *   - 1bookie : E=Qw=Qa=1   - 3bookies: E=3, Qw=2, Qa=2
 * and drives it over the Pulsar binary protocol from this process (lib/wire): one producer
 * sending batches of `--batch` 1 KiB messages, one Exclusive consumer acking cumulatively.
 *   1. closed loop: as many batches in flight as the window allows → max msg/s in and out;
 *   2. open loop at 20k msg/s (batches every 1 ms, like a client's 1 ms batching delay):
 *      publish latency (batch sent → SEND_RECEIPT) and end-to-end latency (batch sent →
 *      MESSAGE received), p50 / p99 / p99.9, counted per message.
 * Prints figures; asserts nothing. The machine is shared, so figures move with its load.
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { builtinPolicyDefaults } from '../lib/policies/defaults.ts';
import { createNamespace } from '../lib/policies/namespaces.ts';
import { PolicyStore } from '../lib/policies/store.ts';
import { spawnProcess, startLocalEtcd, stopAll } from '../test/harness/index.ts';
import { startRealCluster } from '../test/ledger/real-cluster.ts';
import { BenchClient } from './broker-bench-client.ts';
import { latencyHistogram } from './lib/histogram.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SECONDS = Number(arg('seconds', '5'));
const BATCH = Number(arg('batch', '100'));
const WINDOW = Number(arg('window', '64'));
const OPEN_RATE = Number(arg('rate', '20000'));
const ONLY = arg('only', '');
const WARMUP_MS = 1000;
const MSG_BYTES = 1024;

const SCENARIOS = [
  { name: '1bookie', e: 1, qw: 1, qa: 1 },
  { name: '3bookies', e: 3, qw: 2, qa: 2 },
].filter((s) => ONLY === '' || s.name === ONLY);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) a process used so far, from /proc (Linux). */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const { readFile } = await import('node:fs/promises');
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function closedLoop(client: BenchClient, topic: string, brokerPid: number | undefined) {
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
  await sleep(SECONDS * 1000);
  const secs = (performance.now() - t0) / 1000;
  const brokerCpu = (await cpuSeconds(brokerPid)) - cpu0;
  const inRate = sent / secs;
  const outRate = received / secs;
  stop = true;
  await running;
  await Promise.all(inflight);
  await consumer.close();
  await producer.close();
  // broker CPU per 1000 messages in (and the same 1000 out)
  const cpuMsPer1k = sent > 0 ? (brokerCpu * 1000 * 1000) / sent : 0;
  return { inRate, outRate, cpuMsPer1k, cpuShare: brokerCpu / secs };
}

async function openLoop(client: BenchClient, topic: string) {
  const producer = await client.producer(topic);
  const consumer = await client.consumer(topic, 'bench');
  const publish = latencyHistogram();
  const e2e = latencyHistogram();
  consumer.onBatch((count, sentAtMs) =>
    e2e.record((performance.timeOrigin + performance.now() - sentAtMs) * 1000, count),
  );
  const perBatch = Math.max(1, Math.round(OPEN_RATE / 1000));
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  let batches = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    const due = Math.floor(performance.now() - t0);
    for (; batches < due; batches++) {
      const start = performance.now();
      inflight.push(
        producer
          .sendBatch(perBatch, MSG_BYTES)
          .then(() => publish.record((performance.now() - start) * 1000, perBatch)),
      );
    }
    await sleep(1);
  }
  await Promise.all(inflight);
  await sleep(500);
  await consumer.close();
  await producer.close();
  return { publish, e2e, rate: (batches * perBatch) / SECONDS };
}

async function main(): Promise<void> {
  const etcd = await startLocalEtcd();
  const rc = await startRealCluster({ etcdEndpoint: etcd.endpoint, prefix: '/bench-broker', bookies: 3 });
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
      };
      const client = await BenchClient.connect(ready.brokerServicePort);
      const max = await closedLoop(
        client,
        `persistent://public/default/bench-max-${s.name}`,
        broker.child.pid,
      );
      const open = await openLoop(client, `persistent://public/default/bench-lat-${s.name}`);
      client.close();
      await broker.kill('SIGTERM');
      console.log(`\n[${s.name}] E=${s.e} Qw=${s.qw} Qa=${s.qa}`);
      console.log(
        `  closed loop (window ${WINDOW} batches): in ${max.inRate.toFixed(0)} msg/s (${((max.inRate * MSG_BYTES) / 1e6).toFixed(1)} MB/s), out ${max.outRate.toFixed(0)} msg/s; broker CPU ${max.cpuMsPer1k.toFixed(2)} ms per 1000 msgs in+out (${(max.cpuShare * 100).toFixed(0)}% of a core)`,
      );
      console.log(
        `  open loop at ${open.rate.toFixed(0)} msg/s: publish p50 / p99 / p99.9 ms = ${open.publish.summary()}`,
      );
      console.log(
        `  open loop at ${open.rate.toFixed(0)} msg/s: end-to-end p50 / p99 / p99.9 ms = ${open.e2e.summary()}`,
      );
    }
    console.log(
      `\nload average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await store.close();
    await rc.stop();
    await stopAll();
    await etcd.stop();
  }
}

await main();
