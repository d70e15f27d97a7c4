/**
 * Autorecovery with real etcd, real bookie processes and the coordinator process: a SIGKILLed
 * bookie's ledgers (closed ones, and an open one after its grace period, which gets fenced) are
 * re-replicated; the dead bookie's data is then deleted and a second bookie killed, and every
 * entry still reads back. A decommission mark drains a live bookie the same way.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectLedgerClient } from '../../lib/ledger/index.ts';
import { decodeMeta } from '../../lib/ledger/protocol/metadata.ts';
import { openMetadataStore } from '../../lib/metadata/index.ts';
import * as keys from '../../lib/metadata/keys.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { stopAll } from '../harness/index.ts';
import { startBookies, type TestBookie } from './bookies.ts';
import { newPrefix, waitFor } from './helpers.ts';
import { type CoordinatorProc, startCoordinatorProc, tryJson } from './procs.ts';

const endpoint = inject('etcdEndpoint');
const prefix = newPrefix();
const CLUSTER = 'ar';
const metadataUrl = `etcd://${endpoint}${prefix}`;
const password = new TextEncoder().encode('secret');
let store: MetadataStore;
type Client = Awaited<ReturnType<typeof connectLedgerClient>>;
let client: Client | undefined;

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await stopAll();
  await store?.deletePrefix('/').catch(() => undefined);
  await store?.close();
});

const alive = (b: TestBookie | undefined) =>
  b !== undefined && b.proc.child.exitCode === null && b.proc.child.signalCode === null;
const payload = (ledger: number, i: number) =>
  Buffer.from(`ledger-${ledger}-entry-${i}-${'x'.repeat(i % 50)}`);

async function ledgerBookies(ledgerId: number): Promise<string[]> {
  const e = await store.get(keys.ledger(CLUSTER, ledgerId));
  const meta = decodeMeta(e!.value, ledgerId);
  return [...new Set(meta.segments.flatMap((s) => s.bookieIds))];
}

async function readAll(c: Client, ledgerId: number, count: number): Promise<void> {
  const h = await c.openLedger(ledgerId, { recovery: false, password });
  expect(h.lastAddConfirmed).toBe(count - 1);
  const entries = await h.read(0, count - 1);
  expect(entries.map((e) => Buffer.from(e.payload).toString())).toEqual(
    Array.from({ length: count }, (_, i) => payload(ledgerId, i).toString()),
  );
  await h.release();
}

describe('autorecovery', { concurrent: false }, () => {
  let bookies: TestBookie[];
  let coord: CoordinatorProc;
  const written = new Map<number, number>();
  let openLedger: number;

  it('re-replicates the ledgers of a SIGKILLed bookie, fencing the open one after its grace', async () => {
    store = await openMetadataStore(metadataUrl);
    bookies = await startBookies(metadataUrl, CLUSTER, ['bk-0', 'bk-1', 'bk-2', 'bk-3', 'bk-4', 'bk-5']);
    client = await connectLedgerClient({ store, cluster: CLUSTER });
    await waitFor('bookies registered', () => client!.registry.writable().length === 6);
    // Closed ledgers, striped (3/2/2) and not (2/2/2), plus one left open.
    for (const [e, w, a, n] of [
      [3, 2, 2, 300],
      [2, 2, 2, 200],
      [3, 3, 2, 150],
      [3, 2, 2, 120],
    ] as const) {
      const l = await client.createLedger({ ensembleSize: e, writeQuorum: w, ackQuorum: a, password });
      for (let i = 0; i < n; i++) await l.append(payload(l.id, i));
      written.set(l.id, n);
      if (written.size < 4) await l.close();
      else openLedger = l.id;
    }
    // Kill a bookie that the open ledger and at least one closed ledger use.
    const openBookies = await ledgerBookies(openLedger);
    const victim = bookies.find((b) => openBookies.includes(b.id))!;
    coord = await startCoordinatorProc(endpoint, prefix, CLUSTER, 'ar', {
      'lost-bookie-recovery-delay-ms': 500,
      'open-ledger-rereplication-grace-ms': 2000,
      'rereplication-retry-delay-ms': 500,
    });
    await waitFor('leader', async () => (await coord.status()).leader === true);
    await victim.destroy(); // SIGKILL + its data deleted
    const affected = [];
    for (const id of written.keys()) if ((await ledgerBookies(id)).includes(victim.id)) affected.push(id);
    expect(affected).toContain(openLedger);
    await waitFor(
      'no ledger names the dead bookie',
      async () => {
        for (const id of written.keys()) if ((await ledgerBookies(id)).includes(victim.id)) return false;
        const s = await tryJson(`http://127.0.0.1:${coord.port}/status/autorecovery`);
        return s?.underReplicatedCount === 0;
      },
      50_000,
    );
    const status = await tryJson(`http://127.0.0.1:${coord.port}/status/autorecovery`);
    expect(status!.done.map((d: { ledgerId: number }) => d.ledgerId).sort()).toEqual([...affected].sort());
    expect(status!.totals.entriesCopied).toBeGreaterThan(0);
    expect(status!.failed).toEqual([]);
    // The open ledger was fenced (closed) before its last fragment was repaired.
    const meta = decodeMeta((await store.get(keys.ledger(CLUSTER, openLedger)))!.value, openLedger);
    expect(meta.state).toBe('closed');
    expect(meta.lastEntryId).toBe(written.get(openLedger)! - 1);
  });

  it('reads every entry back after a second bookie dies too', async () => {
    const survivors = bookies.filter(
      (b) => b.proc.child.exitCode === null && b.proc.child.signalCode === null,
    );
    const used = new Set((await Promise.all([...written.keys()].map(ledgerBookies))).flat());
    const second = survivors.find((b) => used.has(b.id))!;
    await second.destroy();
    await client!.close();
    client = await connectLedgerClient({ store, cluster: CLUSTER });
    for (const [id, n] of written) await readAll(client, id, n);
  });

  it('drains a decommissioned live bookie', async () => {
    // Let the second loss be repaired first, so only the decommission remains.
    await waitFor(
      'second loss repaired',
      async () =>
        (await tryJson(`http://127.0.0.1:${coord.port}/status/autorecovery`))?.underReplicatedCount === 0 &&
        (await Promise.all([...written.keys()].map(ledgerBookies)))
          .flat()
          .every((b) => alive(bookies.find((x) => x.id === b))),
      50_000,
    );
    const live = bookies.filter((b) => b.proc.child.exitCode === null && b.proc.child.signalCode === null);
    const used = new Set((await Promise.all([...written.keys()].map(ledgerBookies))).flat());
    const target = live.find((b) => used.has(b.id))!;
    await store.put(keys.decommissionedBookie(CLUSTER, target.id), new TextEncoder().encode('test'));
    try {
      await waitFor(
        'no ledger names the decommissioned bookie',
        async () =>
          (await Promise.all([...written.keys()].map(ledgerBookies))).flat().every((b) => b !== target.id),
        50_000,
      );
    } catch (e) {
      const status = await tryJson(`http://127.0.0.1:${coord.port}/status/autorecovery`);
      throw new Error(`${(e as Error).message}; autorecovery status: ${JSON.stringify(status)}`);
    }
    await target.destroy();
    for (const [id, n] of written) await readAll(client!, id, n);
  });
});
