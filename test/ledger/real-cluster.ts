/**
 * Real parts for the ledger client's integration tests and benchmark: bookie processes
 * (services/bookie/main.ts) registered in a real etcd, and ledger clients connected to them.
 */
import { connectLedgerClient } from '../../lib/ledger/index.ts';
import type { LedgerLimits } from '../../lib/ledger/limits.ts';
import { openMetadataStore } from '../../lib/metadata/index.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { spawnBookie } from '../harness/bookie-process.ts';
import { type ServiceProcess, tempDir } from '../harness/index.ts';

export interface BookieProc {
  readonly id: string;
  proc: ServiceProcess;
  grpcPort: number;
  /** Start it again on the same directories (after a kill). */
  restart(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface RealCluster {
  readonly metadataUrl: string;
  readonly cluster: string;
  readonly bookies: BookieProc[];
  openStore(): Promise<MetadataStore>;
  stop(): Promise<void>;
}

export async function startRealCluster(opts: {
  etcdEndpoint: string;
  prefix: string;
  bookies: number;
  extraBookieArgs?: string[];
  bookieNodeArgs?: string[];
}): Promise<RealCluster> {
  const metadataUrl = `etcd://${opts.etcdEndpoint}${opts.prefix}`;
  const cluster = 'ledgertest';
  const startOne = (id: string, dataDir: string) =>
    spawnBookie({
      id,
      cluster,
      metadataUrl,
      dataDir,
      extraArgs: opts.extraBookieArgs,
      nodeArgs: opts.bookieNodeArgs,
    });
  const bookies = await Promise.all(
    Array.from({ length: opts.bookies }, async (_, i) => {
      const id = `bookie-${i}`;
      const root = tempDir(`${id}-`);
      const started = await startOne(id, root);
      const b: BookieProc = {
        id,
        proc: started.proc,
        grpcPort: started.grpcPort,
        async restart() {
          const again = await startOne(id, root);
          b.proc = again.proc;
          b.grpcPort = again.grpcPort;
        },
        kill: (signal = 'SIGKILL') => b.proc.kill(signal),
      };
      return b;
    }),
  );
  return {
    metadataUrl,
    cluster,
    bookies,
    openStore: () => openMetadataStore(metadataUrl),
    async stop() {
      await Promise.all(bookies.map((b) => b.proc.kill('SIGKILL')));
    },
  };
}

export async function connectClient(
  rc: RealCluster,
  store: MetadataStore,
  limits: Partial<LedgerLimits> = {},
) {
  const client = await connectLedgerClient({ store, cluster: rc.cluster, limits });
  const deadline = Date.now() + 30_000;
  while (client.registry.writable().length < rc.bookies.length) {
    if (Date.now() > deadline) throw new Error('bookies did not all register');
    await new Promise((r) => setTimeout(r, 50));
  }
  return client;
}

/** Deterministic payload of entry `i`, so any process can check what it reads. */
export function payloadOf(i: number, bytes = 64): Buffer {
  const b = Buffer.alloc(bytes);
  b.write(`entry-${i}-`, 'utf8');
  for (let k = 12; k < bytes; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}
