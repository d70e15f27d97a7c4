/**
 * Broker failover benchmark: `node bench/cluster-broker-failover.ts [--trials 5] [--session-ttl-ms 4000]`.
 * Real processes: a private etcd, one bookie, two brokers (services/broker/main.ts, cluster
 * ownership on) and a coordinator. Each trial publishes steadily (one message per 10 ms) to a fresh
 * topic with the TypeScript client (reconnect backoff 50–500 ms), SIGKILLs the topic's owner and
 * measures the time from the kill to the first publish confirmed afterwards (necessarily by the new
 * owner: session expiry, reassignment, lookup, ledger fencing/recovery, producer re-creation, resend).
 * The killed broker is restarted between trials. Prints figures; asserts nothing.
 */
import { cpus, loadavg } from 'node:os';
import { PulsarClient } from '../lib/client/index.ts';
import { findRange, topicHash } from '../lib/cluster/bundle-range.ts';
import { OwnershipStore } from '../lib/cluster/ownership-store.ts';
import { ClusterView } from '../lib/cluster/view.ts';
import { silentLogger } from '../lib/log/index.ts';
import { type BrokerProcess, spawnBroker, startStorageCluster } from '../test/broker/cluster.ts';
import { startCoordinatorProc } from '../test/cluster/procs.ts';
import { startLocalEtcd, stopAll } from '../test/harness/index.ts';
import { latencyHistogram } from './lib/histogram.ts';
import { runMain } from './lib/setup.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const TRIALS = Number(arg('trials', '5'));
const TTL = Number(arg('session-ttl-ms', '4000'));

async function main(): Promise<void> {
  const etcd = await startLocalEtcd();
  const sc = await startStorageCluster(etcd.endpoint, 1, 1);
  const prefix = sc.rc.metadataUrl.slice(`etcd://${etcd.endpoint}`.length);
  const flags = { sessionTtlMs: TTL };
  const view = new ClusterView(sc.store, sc.rc.cluster, {
    maxBundles: 10_000,
    maxBrokers: 10,
    resyncDelayMs: 200,
    log: silentLogger(),
  });
  try {
    const brokers = new Map<string, BrokerProcess>();
    for (const name of ['bf-1', 'bf-2']) brokers.set(name, await spawnBroker(sc, name, flags));
    await startCoordinatorProc(etcd.endpoint, prefix, sc.rc.cluster, 'bf-coord', { 'session-ttl-ms': TTL });
    await view.start();
    const os = new OwnershipStore(sc.store, sc.rc.cluster);
    const hist = latencyHistogram();
    const samples: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const urls = [...brokers.values()].map((b) => `127.0.0.1:${b.port}`).join(',');
      const client = new PulsarClient({
        serviceUrl: `pulsar://${urls}`,
        initialBackoffMs: 50,
        maxBackoffMs: 500,
        operationTimeoutMs: 30_000,
      });
      const topic = `persistent://public/default/bench-failover-${Date.now()}-${trial}`;
      const producer = await client.createProducer({ topic, batchingMaxPublishDelayMs: 1 });
      await producer.send({ payload: 'warm-up' });
      let killedAt = 0;
      let firstAfter = 0;
      let sending = true;
      // Only publishes issued after the kill count: an in-flight receipt of the old owner cannot.
      const loop = (async () => {
        for (let i = 0; sending; i++) {
          const issuedAfterKill = killedAt > 0;
          producer.sendAsync({ payload: `m${i}` }, (err) => {
            if (!err && issuedAfterKill && firstAfter === 0) firstAfter = performance.now();
          });
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await new Promise((r) => setTimeout(r, 500));
      const boundaries = (await os.readBoundaries('public', 'default'))!.value;
      const s = view.bundle({
        tenant: 'public',
        namespace: 'default',
        range: findRange(boundaries, topicHash(topic)),
      });
      if (s === 'uncached' || !s.record) throw new Error('bundle not owned');
      const ownerUrl = view.broker(s.record.owner)!.serviceUrl;
      const [name, owner] = [...brokers].find(([, b]) => b.url === ownerUrl)!;
      const killStart = performance.now();
      await owner.proc.kill('SIGKILL');
      killedAt = killStart;
      while (firstAfter === 0) await new Promise((r) => setTimeout(r, 5));
      const ms = firstAfter - killedAt;
      samples.push(ms);
      hist.record(ms * 1000);
      sending = false;
      await loop;
      await client.close();
      brokers.set(name, await spawnBroker(sc, name, flags));
    }
    console.log(
      `machine: ${cpus().length} cores, load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    console.log(`session TTL ${TTL} ms (etcd rounds up to whole seconds); target ≤ TTL + 1 s`);
    console.log(
      `SIGKILL of the topic's owner → first confirmed publish on the new owner: ${samples.map((x) => (x / 1000).toFixed(2)).join(', ')} s (p50/p99 ms ${hist.summary()})`,
    );
  } finally {
    await view.close();
    await stopAll();
    await sc.stop();
    await etcd.stop();
  }
}

runMain(main);
