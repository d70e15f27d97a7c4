/**
 * What every benchmark script repeats: its `--flag value` arguments, the machine's load printed
 * next to the figures (the machine is shared), running `main` to an exit code, and for the ledger
 * benchmarks a private etcd with bookie processes and a connected ledger client.
 */
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import type { LedgerLimits } from '../../lib/ledger/limits.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { applyServiceGcTuning } from '../../lib/util/gc-tuning.ts';
import { bookieConfigSpec } from '../../services/bookie/config.ts';
import { type EtcdInstance, startLocalEtcd, stopAll } from '../../test/harness/index.ts';
import { connectClient, type RealCluster, startRealCluster } from '../../test/ledger/real-cluster.ts';

// Bench clients move as many Buffers as the services do, so they get the services' GC tuning
// too: without it the broker bench client's own full collections showed up as send lag and
// publish latency, and cost it three times the CPU per message.
applyServiceGcTuning();

const argv = process.argv.slice(2);

/** The value after `--name` on the command line, or `def`. */
export function benchArg(name: string, def: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
}

/** The space-separated words after `--name` (e.g. `--bookie-args '--a 1 --b 2'`), or none. */
export function benchArgList(name: string): string[] {
  return benchArg(name, '').split(' ').filter(Boolean);
}

/** The 1, 5 and 15 minute load averages, e.g. `1.52 1.20 0.98`. */
export function loadAverages(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

/** `machine: N cores, load a b c`. */
export function machineLine(): string {
  return `machine: ${cpus().length} cores, load ${loadAverages()}`;
}

/** Run a benchmark's main and exit 0, or print the error and exit 1 (child processes may linger otherwise). */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/** CPU seconds (user + system) a process used so far, from /proc; 0 when the pid is unknown. */
export async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The HTTP port a bookie logged in its ready line (0 if not found). */
export function bookieHttpPort(logs: string): number {
  const line = logs.split('\n').find((l) => l.includes('"msg":"bookie ready"'));
  return line === undefined ? 0 : (JSON.parse(line) as { httpPort: number }).httpPort;
}

export interface BenchBookies {
  readonly etcd: EtcdInstance;
  readonly rc: RealCluster;
  readonly store: MetadataStore;
  readonly client: Awaited<ReturnType<typeof connectClient>>;
  /** Close the client and store, stop the bookies and etcd. */
  stop(): Promise<void>;
}

/**
 * Arguments for the benchmarks' bookie processes: the test harness shrinks journal files to
 * 16 MiB to keep tests quick, which would make the bookies rotate journals several times a
 * second under load; benchmarks measure the shipped default instead. `extra` (a benchmark's
 * --bookie-args) comes last and overrides.
 */
export function benchBookieArgs(extra: readonly string[] = []): string[] {
  return ['--journal-file-bytes', String(bookieConfigSpec.journalFileBytes.default), ...extra];
}

/**
 * A private etcd, `bookies` bookie processes registered under `prefix`, a metadata store and a
 * ledger client that sees them all. An interrupt (Ctrl-C, timeout) stops the processes too.
 */
export async function startBenchBookies(
  prefix: string,
  bookies: number,
  limits: Partial<LedgerLimits>,
  extraBookieArgs: readonly string[] = [],
  bookieNodeArgs: string[] = [],
): Promise<BenchBookies> {
  const etcd = await startLocalEtcd();
  const rc = await startRealCluster({
    etcdEndpoint: etcd.endpoint,
    prefix,
    bookies,
    extraBookieArgs: benchBookieArgs(extraBookieArgs),
    bookieNodeArgs,
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      void Promise.allSettled([rc.stop(), stopAll(), etcd.stop()]).then(() => process.exit(130));
    });
  const store = await rc.openStore();
  const client = await connectClient(rc, store, limits);
  return {
    etcd,
    rc,
    store,
    client,
    async stop() {
      await client.close();
      await store.close();
      await rc.stop();
      await stopAll();
      await etcd.stop();
    },
  };
}
