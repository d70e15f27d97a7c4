/**
 * Re-replication benchmark: `node bench/cluster-rereplication.ts [--mib 1024] [--ledgers 16] [--entry-kib 64] [--ensemble 3]`.
 * Starts a private etcd, `--ensemble` real bookie processes and writes `--mib` MiB into `--ledgers`
 * closed ledgers with E = Qw = Qa = `--ensemble` (so every bookie holds all of it); then starts a
 * spare bookie and a coordinator process, SIGKILLs one bookie, and measures the time until
 * autorecovery has copied that bookie's whole share (= `--mib`) to the spare: from the kill
 * (session expiry and audit included) and from the first copy. Verifies a sample of entries.
 * Prints figures; asserts nothing.
 */
import { cpus, loadavg } from 'node:os';
import { connectLedgerClient } from '../lib/ledger/index.ts';
import { decodeMeta } from '../lib/ledger/protocol/metadata.ts';
import { openMetadataStore } from '../lib/metadata/index.ts';
import * as keys from '../lib/metadata/keys.ts';
import { startBookies } from '../test/cluster/bookies.ts';
import { startCoordinatorProc, tryJson } from '../test/cluster/procs.ts';
import { startLocalEtcd, stopAll } from '../test/harness/index.ts';
import { runMain } from './lib/setup.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const MIB = Number(arg('mib', '1024'));
const LEDGERS = Number(arg('ledgers', '16'));
const ENTRY_BYTES = Number(arg('entry-kib', '64')) * 1024;
const CONCURRENCY = Number(arg('rereplication-concurrency', '2'));
const ENSEMBLE = Number(arg('ensemble', '3'));
const CLUSTER = 'bench';
const PREFIX = '/bench-rerepl';
const password = new TextEncoder().encode('bench');

function payload(ledger: number, entry: number): Buffer {
  const b = Buffer.alloc(ENTRY_BYTES, (ledger * 7 + entry) & 0xff);
  b.writeUInt32BE(ledger, 0);
  b.writeUInt32BE(entry, 4);
  return b;
}

async function main(): Promise<void> {
  const etcd = await startLocalEtcd();
  const metadataUrl = `etcd://${etcd.endpoint}${PREFIX}`;
  const store = await openMetadataStore(metadataUrl);
  try {
    const bookies = await startBookies(
      metadataUrl,
      CLUSTER,
      Array.from({ length: ENSEMBLE }, (_, i) => `b${i}`),
    );
    const client = await connectLedgerClient({
      store,
      cluster: CLUSTER,
      limits: { pendingAddBytesMax: 64 * 1024 * 1024 },
    });
    while (client.registry.writable().length < ENSEMBLE) await new Promise((r) => setTimeout(r, 50));
    const entriesPerLedger = Math.max(1, Math.floor((MIB * 1024 * 1024) / LEDGERS / ENTRY_BYTES));
    const w0 = performance.now();
    const ids: number[] = [];
    for (let l = 0; l < LEDGERS; l++) {
      const h = await client.createLedger({
        ensembleSize: ENSEMBLE,
        writeQuorum: ENSEMBLE,
        ackQuorum: ENSEMBLE,
        password,
      });
      // At most WINDOW appends in flight.
      const WINDOW = 32;
      const pending = new Set<Promise<unknown>>();
      for (let e = 0; e < entriesPerLedger; e++) {
        const p = h.append(payload(h.id, e)).finally(() => pending.delete(p));
        pending.add(p);
        if (pending.size >= WINDOW) await Promise.race(pending);
      }
      await Promise.all(pending);
      await h.close();
      ids.push(h.id);
    }
    const writeS = (performance.now() - w0) / 1000;
    const totalBytes = LEDGERS * entriesPerLedger * ENTRY_BYTES;
    await startBookies(metadataUrl, CLUSTER, ['spare']);
    const coord = await startCoordinatorProc(etcd.endpoint, PREFIX, CLUSTER, 'bench', {
      'lost-bookie-recovery-delay-ms': 0,
      'rereplication-concurrency': CONCURRENCY,
      'session-ttl-ms': 4000,
    });
    while ((await coord.status()).leader !== true) await new Promise((r) => setTimeout(r, 50));
    const victim = bookies[0];
    let onVictim = 0;
    for (const id of ids) {
      const meta = decodeMeta((await store.get(keys.ledger(CLUSTER, id)))!.value, id);
      if (meta.segments.some((s) => s.bookieIds.includes(victim.id))) onVictim++;
    }
    const k0 = performance.now();
    await victim.proc.kill('SIGKILL');
    let firstCopyAt: number | undefined;
    let status: Record<string, any> | undefined;
    for (;;) {
      status = await tryJson(`http://127.0.0.1:${coord.port}/status/autorecovery`);
      if (!firstCopyAt && (status?.inProgress?.length ?? 0) > 0) firstCopyAt = performance.now();
      if (status && status.totals.ledgersRereplicated >= onVictim && status.underReplicatedCount === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const doneAt = performance.now();
    const copied = status!.totals.bytesCopied as number;
    const copyS = (doneAt - (firstCopyAt ?? k0)) / 1000;
    // Spot-check: the first and last entry of every ledger read back from the survivors.
    const reader = await connectLedgerClient({ store, cluster: CLUSTER });
    for (const id of ids) {
      const h = await reader.openLedger(id, { recovery: false, password });
      for (const e of [0, entriesPerLedger - 1]) {
        const [got] = await h.read(e, e);
        if (!Buffer.from(got.payload).equals(payload(id, e)))
          throw new Error(`ledger ${id} entry ${e} differs`);
      }
      await h.release();
    }
    console.log(
      `machine: ${cpus().length} cores, load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    console.log(
      `wrote ${(totalBytes / 2 ** 20).toFixed(0)} MiB in ${LEDGERS} ledgers (E=Qw=Qa=${ENSEMBLE}, ${ENTRY_BYTES / 1024} KiB entries) in ${writeS.toFixed(1)} s`,
    );
    console.log(
      `killed ${victim.id} (held ${onVictim} ledgers): re-replicated ${(copied / 2 ** 20).toFixed(0)} MiB (${status!.totals.entriesCopied} entries, ${status!.totals.ledgersRereplicated} ledgers) ` +
        `in ${((doneAt - k0) / 1000).toFixed(1)} s from the kill (session expiry + audit included), ${copyS.toFixed(1)} s of copying = ${(copied / 2 ** 20 / copyS).toFixed(1)} MiB/s; concurrency ${CONCURRENCY}`,
    );
    console.log(
      `projected for 1 GiB at that rate: ${(1024 / (copied / 2 ** 20 / copyS) || 0).toFixed(1)} s of copying`,
    );
    await reader.close();
    await client.close();
  } finally {
    await stopAll();
    await store.close();
    await etcd.stop();
  }
}

runMain(main);
