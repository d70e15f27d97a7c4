/**
 * Ownership failover benchmark: `node bench/cluster-failover.ts [--trials 5] [--session-ttl-ms 4000]`.
 * A private etcd, a coordinator process and three broker agents (test/cluster/broker-agent.ts:
 * the real OwnershipService of a broker, without the Pulsar data path). Each trial looks a topic
 * up, SIGKILLs its owner, and measures until a survivor owns the topic's bundle and answers
 * lookup + checkOwnership for it, as a reconnecting client would ask (polled every 20 ms). The
 * killed broker is restarted between trials. With brokers wired to the OwnershipService, add the
 * managed-ledger recovery and the first publish on top of this figure.
 * Prints figures; asserts nothing.
 */
import { cpus, loadavg } from 'node:os';
import { type AgentProc, startAgent, startCoordinatorProc, tryJson } from '../test/cluster/procs.ts';
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
const CLUSTER = 'bench';
const PREFIX = '/bench-failover';

async function main(): Promise<void> {
  const etcd = await startLocalEtcd();
  try {
    const coord = await startCoordinatorProc(etcd.endpoint, PREFIX, CLUSTER, 'c', {
      'session-ttl-ms': TTL,
      'assign-interval-ms': 1000,
    });
    const cfg = { sessionTtlMs: TTL, placementScoreTolerance: 10, overloadThreshold: 10 };
    const agents = new Map<string, AgentProc>();
    for (const id of ['a', 'b', 'c'])
      agents.set(id, await startAgent(etcd.endpoint, PREFIX, CLUSTER, id, cfg));
    while ((await coord.status()).leader !== true) await new Promise((r) => setTimeout(r, 50));
    const toOwned = latencyHistogram();
    const samples: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const topic = `persistent://bench/failover/t-${trial}`;
      const anyAgent = () => [...agents.values()][0];
      const first = await anyAgent().get(`/lookup?topic=${encodeURIComponent(topic)}`);
      const owner = agents.get(first.brokerId)!;
      const ok = await owner.get(`/check?topic=${encodeURIComponent(topic)}`);
      if (ok.error) throw new Error(`owner does not serve: ${JSON.stringify(ok)}`);
      const t0 = performance.now();
      await owner.proc.kill('SIGKILL');
      agents.delete(owner.id);
      const survivors = [...agents.values()];
      for (;;) {
        const r = await tryJson(
          `http://127.0.0.1:${survivors[0].port}/lookup?topic=${encodeURIComponent(topic)}`,
        );
        const next = r && !r.error ? agents.get(r.brokerId) : undefined;
        if (next) {
          const c = await tryJson(`http://127.0.0.1:${next.port}/check?topic=${encodeURIComponent(topic)}`);
          if (c && !c.error) break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const ms = performance.now() - t0;
      samples.push(ms);
      toOwned.record(ms * 1000);
      agents.set(owner.id, await startAgent(etcd.endpoint, PREFIX, CLUSTER, owner.id, cfg));
    }
    console.log(
      `machine: ${cpus().length} cores, load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    console.log(`session TTL ${TTL} ms (etcd rounds up to whole seconds), ${TRIALS} trials`);
    console.log(
      `SIGKILL of the owner → a survivor owns the bundle and serves the topic: ${samples.map((s) => (s / 1000).toFixed(2)).join(', ')} s (p50/p99 ms ${toOwned.summary()})`,
    );
  } finally {
    await stopAll();
    await etcd.stop();
  }
}

runMain(main);
