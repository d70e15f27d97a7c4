/**
 * Managed-ledger benchmark: `node bench/managed-ledger-append.ts [--seconds 4] [--bytes 1024]`.
 * Starts a private etcd and three bookie processes, then through the managed-ledger factory:
 *   - appends: closed loop (a window of appends in flight, ledgers rolling every 5 000 entries)
 *     for entries/s and MB/s, then an open loop at half that rate for latency p50 / p99 / p99.9
 *     (from each append's intended start), for E/Qw/Qa 1/1/1 and 3/2/2;
 *   - reads: a tailing cursor served from the entry cache (hits/misses), and a catch-up cursor
 *     on a fresh factory (empty cache) reading from the bookies with read-ahead (how many bookie
 *     reads it took);
 *   - acks: individual acks per second on a durable cursor, and how many cursor writes they caused.
 * Prints figures; asserts nothing. The machine is shared, so figures move with its load.
 */
import type { ManagedLedgerFactory } from '../services/broker/managed-ledger/api.ts';
import { createManagedLedgerFactory } from '../services/broker/managed-ledger/factory.ts';
import { latencyHistogram } from './lib/histogram.ts';
import { benchArg, loadAverages, startBenchBookies } from './lib/setup.ts';

const SECONDS = Number(benchArg('seconds', '4'));
const BYTES = Number(benchArg('bytes', '1024'));
const WINDOW = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const QUORUMS = [
  { name: '1/1/1', ensembleSize: 1, writeQuorum: 1, ackQuorum: 1 },
  { name: '3/2/2', ensembleSize: 3, writeQuorum: 2, ackQuorum: 2 },
];

async function closedLoop(append: () => Promise<unknown>, ms: number): Promise<number> {
  let stop = false;
  let confirmed = 0;
  const worker = async () => {
    while (!stop) {
      await append();
      confirmed++;
    }
  };
  const workers = Array.from({ length: WINDOW }, worker);
  await sleep(500);
  const c0 = confirmed;
  const t0 = performance.now();
  await sleep(ms);
  const rate = (confirmed - c0) / ((performance.now() - t0) / 1000);
  stop = true;
  await Promise.all(workers);
  return rate;
}

async function openLoop(append: () => Promise<unknown>, rate: number, ms: number) {
  const h = latencyHistogram();
  const inflight: Promise<void>[] = [];
  const t0 = performance.now();
  let issued = 0;
  while (performance.now() - t0 < ms) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; issued < due; issued++) {
      const intended = t0 + (issued / rate) * 1000;
      inflight.push(append().then(() => h.record((performance.now() - intended) * 1000)));
    }
    await sleep(1);
  }
  await Promise.all(inflight);
  return h;
}

async function readAll(
  f: ManagedLedgerFactory,
  name: string,
  cursor: string,
): Promise<{ rate: number; n: number }> {
  const ml = await f.open(name);
  const c = await ml.openCursor(cursor, { initialPosition: 'Earliest', durable: false });
  const t0 = performance.now();
  let n = 0;
  for (let batch = await c.readEntries(100); batch.length > 0; batch = await c.readEntries(100))
    n += batch.length;
  return { rate: n / ((performance.now() - t0) / 1000), n };
}

async function main(): Promise<void> {
  const bench = await startBenchBookies('/bench-ml', 3, { pendingAddsMax: 20_000 });
  const { rc, store, client } = bench;
  const settings = {
    defaultMaxEntriesPerLedger: 5000,
    defaultMinLedgerRolloverTimeMs: 0,
    maxPendingAppends: 20_000,
    cacheMaxSizeBytes: 256 * 1024 * 1024,
  };
  const factory = () => createManagedLedgerFactory({ store, client, cluster: rc.cluster, settings });
  const payload = Buffer.alloc(BYTES, 7);
  console.log(`load average before: ${loadAverages()}; ${SECONDS} s phases, ${BYTES} B entries`);
  console.log('E/Qw/Qa | max appends/s | max MB/s | open-loop rate | latency p50 / p99 / p99.9 ms | ledgers');
  try {
    for (const q of QUORUMS) {
      const f = factory();
      const name = `bench/ns/persistent/append-${q.name.replaceAll('/', '')}`;
      const ml = await f.open(name, {
        ensembleSize: q.ensembleSize,
        writeQuorum: q.writeQuorum,
        ackQuorum: q.ackQuorum,
      });
      const tail = await ml.openCursor('tail', { durable: false });
      let tailed = 0;
      let stopTail = false;
      const tailing = (async () => {
        while (!stopTail) tailed += (await tail.readEntriesOrWait(500)).length;
      })();
      const rate = await closedLoop(() => ml.append(payload), SECONDS * 1000);
      const half = Math.max(1, Math.floor(rate / 2));
      const h = await openLoop(() => ml.append(payload), half, SECONDS * 1000);
      const ledgers = ml.ledgers.length;
      const cache = f.cacheStats();
      stopTail = true;
      tail.cancelPendingRead();
      await tailing;
      console.log(
        `${q.name.padEnd(7)} | ${rate.toFixed(0).padStart(13)} | ${((rate * BYTES) / 1e6).toFixed(1).padStart(8)} | ${String(half).padStart(14)} | ${h.summary().padEnd(28)} | ${ledgers}`,
      );
      console.log(
        `        tailing cursor read ${tailed} of ${ml.numberOfEntries} entries; cache hits ${cache.hits}, misses ${cache.misses}`,
      );
      await f.shutdown();
      const fresh = factory();
      const r = await readAll(fresh, name, 'catch-up');
      const cs = fresh.cacheStats();
      console.log(
        `        catch-up read (new broker, empty cache): ${r.n} entries at ${r.rate.toFixed(0)} entries/s, ${((r.rate * BYTES) / 1e6).toFixed(1)} MB/s; ${cs.misses} bookie reads (read-ahead ${fresh.settings.readAheadEntries} entries)`,
      );
      await fresh.shutdown();
    }
    // Ack throughput and the cursor writes it causes (rate-bounded persistence).
    const f = factory();
    const ml = await f.open('bench/ns/persistent/acks', { ensembleSize: 2, writeQuorum: 2, ackQuorum: 2 });
    const c = await ml.openCursor('sub', { initialPosition: 'Earliest' });
    const ps = await Promise.all(Array.from({ length: 20_000 }, () => ml.append(payload)));
    const t0 = performance.now();
    for (let i = 0; i < ps.length; i += 2) await c.delete([ps[i]]);
    for (let i = 1; i < ps.length; i += 2) await c.delete([ps[i]]);
    const secs = (performance.now() - t0) / 1000;
    await c.flush();
    const s = c.stats();
    console.log(
      `acks: ${ps.length} individual acks (10 000 holes, then filled) at ${(ps.length / secs).toFixed(0)} acks/s; cursor writes: ${s.ledgerWrites} to the cursor ledger, ${s.metadataWrites} to the metadata key`,
    );
    await f.shutdown();
    console.log(`load average after: ${loadAverages()}`);
  } finally {
    await bench.stop();
  }
}

await main();
