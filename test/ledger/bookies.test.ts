/**
 * The ledger client against real bookie processes (services/bookie) registered in a real etcd:
 * replicated writes through a bookie SIGKILL (ensemble change), two clients racing on one ledger
 * (fencing), and the API round trip (create, append, close, read, LAC, long poll, delete).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { WritableLedger } from '../../lib/ledger/api.ts';
import { errorCode } from '../../lib/ledger/errors.ts';
import type { GrpcBookieTransport } from '../../lib/ledger/grpc/grpc-transport.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { stopAll, uniquePrefix } from '../harness/index.ts';
import { connectClient, payloadOf, type RealCluster, startRealCluster } from './real-cluster.ts';

const PASSWORD = Buffer.from('integration');
const LIMITS = { readConcurrencyMax: 256, bookieAddTimeoutMs: 3_000, speculativeReadDelayMs: 200 };

let rc: RealCluster;
let store: MetadataStore;

beforeAll(async () => {
  rc = await startRealCluster({
    etcdEndpoint: inject('etcdEndpoint'),
    prefix: uniquePrefix('ledger'),
    bookies: 4,
  });
  store = await rc.openStore();
});

afterAll(async () => {
  await store?.close();
  await stopAll();
});

/** Append `count` entries keeping `window` in flight; stops at the first failure. */
async function appendMany(
  ledger: WritableLedger,
  from: number,
  count: number,
  window: number,
  onConfirmed?: (id: number) => void,
) {
  const confirmed: number[] = [];
  const failures: string[] = [];
  let next = from;
  const end = from + count;
  const worker = async () => {
    while (next < end && failures.length === 0) {
      const i = next++;
      try {
        const id = await ledger.append(payloadOf(i));
        confirmed.push(id);
        onConfirmed?.(id);
      } catch (e) {
        failures.push(errorCode(e) ?? String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return { confirmed: confirmed.sort((a, b) => a - b), failures };
}

function expectPayloads(entries: readonly { entryId: number; payload: Uint8Array }[], first: number) {
  entries.forEach((e, i) => {
    expect(e.entryId).toBe(first + i);
    if (!Buffer.from(e.payload).equals(payloadOf(first + i)))
      throw new Error(`entry ${first + i}: wrong payload`);
  });
}

describe('ledger client on real bookies', { concurrent: false }, () => {
  // Reading the 200k entries back takes a few hundred striped ReadRange calls (one per residue
  // mod E and readRangeEntriesMax entries); plain ranges took ~100k (a bookie holds runs of Qw).
  it('E=3 Qw=2 Qa=2: a bookie SIGKILLed during 200k appends; writes continue through an ensemble change', {
    timeout: 120_000,
  }, async () => {
    const client = await connectClient(rc, store, LIMITS);
    const ledger = await client.createLedger({
      ensembleSize: 3,
      writeQuorum: 2,
      ackQuorum: 2,
      password: PASSWORD,
    });
    const victimId = ledger.metadata.segments[0].bookieIds[1];
    const victim = rc.bookies.find((b) => b.id === victimId)!;
    let killed: Promise<void> | undefined;
    const total = 200_000;
    const { confirmed, failures } = await appendMany(ledger, 0, total, 2_000, (id) => {
      if (id === 60_000) killed = victim.kill('SIGKILL');
    });
    await killed;
    expect(failures).toEqual([]);
    expect(confirmed.length).toBe(total);
    expect(confirmed[total - 1]).toBe(total - 1);
    expect(ledger.lastAddConfirmed).toBe(total - 1);
    const segments = ledger.metadata.segments;
    expect(segments.length).toBeGreaterThanOrEqual(2);
    expect(segments[segments.length - 1].bookieIds).not.toContain(victimId);
    await ledger.close();

    // Everything confirmed reads back, through a fresh reader, with the victim still down.
    const reader = await client.openLedger(ledger.id, { recovery: false, password: PASSWORD });
    expect(reader.closed).toBe(true);
    expect(reader.lastAddConfirmed).toBe(total - 1);
    for (let first = 0; first < total; first += 50_000) {
      expectPayloads(await reader.read(first, first + 49_999), first);
    }
    await client.close();
    await victim.restart();
  });

  it('two clients racing on one ledger: the old writer is fenced and loses nothing it was told', async () => {
    const a = await connectClient(rc, store, LIMITS);
    const b = await connectClient(rc, store, LIMITS);
    const ledger = await a.createLedger({
      ensembleSize: 3,
      writeQuorum: 2,
      ackQuorum: 2,
      password: PASSWORD,
    });
    let takeover: Promise<number> | undefined;
    const { confirmed, failures } = await appendMany(ledger, 0, 1_000_000, 200, (id) => {
      if (id === 5_000) {
        takeover = b
          .openLedger(ledger.id, { recovery: true, password: PASSWORD })
          .then((h) => h.lastAddConfirmed);
      }
    });
    const recoveredLast = await takeover!;
    expect(failures.length).toBeGreaterThan(0);
    expect(new Set(failures)).toEqual(new Set(['LEDGER_FENCED']));
    expect(confirmed.length).toBeGreaterThan(5_000);
    // Confirmations are contiguous from 0, and every one survived the takeover.
    expect(confirmed[confirmed.length - 1]).toBe(confirmed.length - 1);
    expect(recoveredLast).toBeGreaterThanOrEqual(confirmed.length - 1);
    await expect(ledger.append(payloadOf(0))).rejects.toMatchObject({ code: 'LEDGER_FENCED' });
    await expect(ledger.close()).rejects.toMatchObject({ code: 'LEDGER_FENCED' });
    const reader = await b.openLedger(ledger.id, { recovery: false, password: PASSWORD });
    expect(reader.lastAddConfirmed).toBe(recoveredLast);
    expectPayloads(await reader.read(0, recoveredLast), 0);
    await a.close();
    await b.close();
  });

  it('round trip: close, read-only open, LAC, long poll, bad input, delete', async () => {
    const client = await connectClient(rc, store, LIMITS);
    await expect(
      client.createLedger({ ensembleSize: 2, writeQuorum: 3, ackQuorum: 2, password: PASSWORD }),
    ).rejects.toMatchObject({
      code: 'INVALID_QUORUM',
    });
    await expect(
      client.createLedger({ ensembleSize: 9, writeQuorum: 3, ackQuorum: 2, password: PASSWORD }),
    ).rejects.toMatchObject({
      code: 'NOT_ENOUGH_BOOKIES',
    });
    const ledger = await client.createLedger({
      ensembleSize: 3,
      writeQuorum: 3,
      ackQuorum: 2,
      password: PASSWORD,
      customMetadata: { topic: 't' },
    });
    for (let i = 0; i < 10; i++) await ledger.append(payloadOf(i));
    const tail = await client.openLedger(ledger.id, { recovery: false, password: PASSWORD });
    expect(tail.closed).toBe(false);
    // Entry 9 carries LAC 8: a reader learns the LAC from what the bookies were told.
    expect(tail.lastAddConfirmed).toBe(8);
    await expect(tail.read(0, 9)).rejects.toMatchObject({ code: 'ENTRY_NOT_CONFIRMED' });
    expectPayloads(await tail.read(0, 8), 0);
    const waiting = tail.waitForLastAddConfirmed(8, 10_000);
    await ledger.append(payloadOf(10)); // carries LAC 9
    expect(await waiting).toBe(9);
    await expect(
      client.openLedger(ledger.id, { recovery: false, password: Buffer.from('nope') }),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    await ledger.append(payloadOf(11));
    await ledger.close();
    expect(await tail.readLastAddConfirmed()).toBe(11);
    expect(tail.closed).toBe(true);
    expectPayloads(await tail.read(0, 11), 0);
    const meta = await client.getLedgerMetadata(ledger.id);
    expect(meta?.customMetadata).toEqual({ topic: 't' });
    expect(Number(meta?.lastEntryId)).toBe(11);
    // Many small appends made together share AddStream messages.
    const transport = client.context.transport as GrpcBookieTransport;
    const before = { ...transport.stats };
    const batch = await client.createLedger({
      ensembleSize: 1,
      writeQuorum: 1,
      ackQuorum: 1,
      password: PASSWORD,
    });
    await Promise.all(Array.from({ length: 5_000 }, (_, i) => batch.append(payloadOf(i))));
    const messages = transport.stats.addMessages - before.addMessages;
    expect(transport.stats.addEntries - before.addEntries).toBe(5_000);
    expect(messages).toBeLessThan(500);
    await batch.close();
    await client.deleteLedger(ledger.id);
    expect(await client.getLedgerMetadata(ledger.id)).toBeUndefined();
    await expect(client.openLedger(ledger.id, { recovery: true, password: PASSWORD })).rejects.toMatchObject({
      code: 'NO_SUCH_LEDGER',
    });
    await client.close();
  });
});
