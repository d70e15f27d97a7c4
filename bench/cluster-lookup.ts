/**
 * Lookup resolution benchmark: `node bench/cluster-lookup.ts [--seconds 5] [--concurrency 64]`.
 * Starts a private etcd and two brokers' OwnershipServices (one in this process, the other a real
 * broker-agent process), then measures on the in-process broker:
 *  1. first lookups of fresh namespaces (boundaries created, bundle assigned by load, claimed by
 *     whichever broker was chosen): latency per lookup;
 *  2. steady lookups of topics in owned bundles (answered from the watched mirror): lookups/s at
 *     a given concurrency, with latency percentiles.
 * This is the resolution layer only (no Pulsar framing); prints figures, asserts nothing.
 */
import { cpus, loadavg } from 'node:os';
import { clusterConfigSpec } from '../lib/cluster/config.ts';
import { OwnershipService } from '../lib/cluster/ownership-service.ts';
import { loadConfig } from '../lib/config/index.ts';
import { silentLogger } from '../lib/log/index.ts';
import { openEtcdStore } from '../lib/metadata/etcd-store.ts';
import { startLocalEtcd, stopAll } from '../test/harness/index.ts';
import { startAgent } from '../test/cluster/procs.ts';
import { latencyHistogram } from './lib/histogram.ts';
import { runMain } from './lib/setup.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SECONDS = Number(arg('seconds', '5'));
const CONCURRENCY = Number(arg('concurrency', '64'));
const NAMESPACES = Number(arg('namespaces', '100'));
const CLUSTER = 'bench';
const PREFIX = '/bench-lookup';

async function main(): Promise<void> {
  const etcd = await startLocalEtcd();
  const store = await openEtcdStore({ hosts: [etcd.endpoint], rootPrefix: PREFIX, logger: silentLogger() });
  try {
    await startAgent(etcd.endpoint, PREFIX, CLUSTER, 'remote', {
      placementScoreTolerance: 10,
      overloadThreshold: 10,
    });
    const svc = await OwnershipService.start({
      store,
      cluster: CLUSTER,
      brokerId: 'local',
      addresses: { serviceUrl: 'pulsar://127.0.0.1:6650', httpUrl: 'http://127.0.0.1:8080' },
      config: loadConfig('broker', clusterConfigSpec, {
        overrides: { placementScoreTolerance: 10, overloadThreshold: 10 },
      }),
      log: silentLogger(),
    });
    while (!svc.view.isRegistered('remote')) await new Promise((r) => setTimeout(r, 20));

    // 1. First lookups: every one creates a namespace's boundaries and assigns + claims a bundle.
    const cold = latencyHistogram();
    const owners = new Map<string, number>();
    const t0 = performance.now();
    for (let i = 0; i < NAMESPACES; i++) {
      const start = performance.now();
      const r = await svc.lookupTopic(`persistent://bench/ns-${i}/t`);
      cold.record((performance.now() - start) * 1000);
      owners.set(r.brokerId, (owners.get(r.brokerId) ?? 0) + 1);
    }
    const coldS = (performance.now() - t0) / 1000;

    // Warm the remaining bundles of a few namespaces so steady lookups spread over many bundles.
    const topics = Array.from(
      { length: 10_000 },
      (_, i) => `persistent://bench/ns-${i % NAMESPACES}/topic-${i}`,
    );
    for (const t of topics.slice(0, NAMESPACES * 8)) await svc.lookupTopic(t);

    // 2. Steady state: closed loop with CONCURRENCY lookups in flight.
    const warm = latencyHistogram();
    let done = 0;
    let errors = 0;
    const deadline = performance.now() + SECONDS * 1000;
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, k) => {
        for (let i = k; performance.now() < deadline; i += CONCURRENCY) {
          const start = performance.now();
          try {
            await svc.lookupTopic(topics[i % topics.length]);
          } catch (err) {
            if (errors++ === 0) console.log(`first error: ${(err as Error).message}`);
          }
          warm.record((performance.now() - start) * 1000);
          done++;
        }
      }),
    );
    const elapsed = (performance.now() - w0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `machine: ${cpus().length} cores, load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    console.log(
      `first lookups (assign + claim, ${NAMESPACES} namespaces): ${(NAMESPACES / coldS).toFixed(0)} /s sequential, latency p50/p99/p99.9 ms ${cold.summary()}; owners ${JSON.stringify(Object.fromEntries(owners))}`,
    );
    console.log(
      `steady lookups (owned bundles, concurrency ${CONCURRENCY}): ${(done / elapsed).toFixed(0)} lookups/s, latency p50/p99/p99.9 ms ${warm.summary()}, errors ${errors}, CPU ${(((cpu.user + cpu.system) / 1e6 / elapsed) * 100).toFixed(0)}% of one core = ${(done / ((cpu.user + cpu.system) / 1e6)).toFixed(0)} lookups per CPU-second`,
    );
    await svc.close();
  } finally {
    await stopAll();
    await store.close();
    await etcd.stop();
  }
}

runMain(main);
