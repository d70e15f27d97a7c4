/**
 * One real bookie process (services/bookie/main.ts) on 127.0.0.1 with OS-chosen ports, its journal
 * and ledgers under `dataDir`, registered in the metadata store at `metadataUrl`. Short registration
 * TTL and 16 MiB journal files keep tests quick; `extraArgs` override any of these.
 */
import { join } from 'node:path';
import { type ServiceProcess, spawnProcess } from './processes.ts';

export const BOOKIE_MAIN = join(import.meta.dirname, '../../services/bookie/main.ts');

/** A bookie bound to 127.0.0.1 with OS-chosen gRPC and HTTP ports. */
export const LOOPBACK_BOOKIE_ARGS: readonly string[] = [
  '--bind-host',
  '127.0.0.1',
  '--advertised-host',
  '127.0.0.1',
  '--grpc-port',
  '0',
  '--http-port',
  '0',
];

export interface BookieSpawnOptions {
  id: string;
  cluster: string;
  metadataUrl: string;
  dataDir: string;
  extraArgs?: readonly string[];
  /** Node/V8 flags for the bookie process (benchmarks' experiments), before the script. */
  nodeArgs?: readonly string[];
}

export interface SpawnedBookie {
  readonly proc: ServiceProcess;
  /** The gRPC port the bookie bound (from its "bookie ready" line). */
  readonly grpcPort: number;
}

/** Start the bookie and wait until it is registered and serving. */
export async function spawnBookie(opts: BookieSpawnOptions): Promise<SpawnedBookie> {
  const proc = spawnProcess({
    name: opts.id,
    args: [
      ...(opts.nodeArgs ?? []),
      BOOKIE_MAIN,
      ...['--bookie-id', opts.id, '--cluster-name', opts.cluster, '--metadata-url', opts.metadataUrl],
      ...LOOPBACK_BOOKIE_ARGS,
      ...['--journal-dir', join(opts.dataDir, 'journal'), '--ledger-dir', join(opts.dataDir, 'ledgers')],
      ...['--registration-ttl-ms', '2000', '--registration-wait-ms', '10000'],
      ...['--journal-file-bytes', String(16 * 1024 * 1024)],
      ...(opts.extraArgs ?? []),
    ],
    env: { MAGNETAR_LOG_LEVEL: 'warn' },
  });
  const line = await proc.waitForOutput(/"msg":"bookie ready"/, 60_000);
  return { proc, grpcPort: (JSON.parse(line) as { grpcPort: number }).grpcPort };
}
