/**
 * A wiped bookie forgets the fences it had taken (test/ledger/defect-scenarios.ts,
 * `wipedBookieForgetsFence`), here with real bookie processes, real etcd and the real ledger
 * client. E = Qw = 3, Qa = 2: recovery fences A and B (C is down) and closes the ledger empty;
 * then A loses its disk and rejoins with --data-loss-recovery, C comes back. The old writer's
 * append reaches A, B and C: B says FENCED, and A must not take it (else A + C = Qa confirms an
 * entry of a closed ledger). And the limbo stays scoped: a ledger created after the loss uses A
 * normally, and its recovery can count A's "no such entry" while B is down.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Status } from '../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { LedgerState } from '../../lib/gen/magnetar/meta/v1/meta_pb.ts';
import { errorCode } from '../../lib/ledger/errors.ts';
import { connectLedgerClient } from '../../lib/ledger/index.ts';
import { openMetadataStore } from '../../lib/metadata/index.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { freePort, freePorts, stopAll, uniquePrefix } from '../harness/index.ts';
import { type BookieDirs, bookieDirs, type RunningBookie, startBookieProcess, waitFor } from './helpers.ts';

const CLUSTER = 'limbotest';
const PASSWORD = Buffer.from('limbo-pw');
const E3_QW3_QA2 = { ensembleSize: 3, writeQuorum: 3, ackQuorum: 2, password: PASSWORD };
const LIMITS = { bookieAddTimeoutMs: 3000, bookieRequestTimeoutMs: 2000, addTimeoutMs: 20_000 };
let url: string;
let store: MetadataStore;

interface Node {
  readonly id: string;
  readonly dirs: BookieDirs;
  port: number;
  running?: RunningBookie;
}

const nodes: Node[] = [];

async function start(n: Node, extra: string[] = []): Promise<void> {
  n.running = await startBookieProcess(n.id, n.dirs, [
    '--metadata-url',
    url,
    '--cluster-name',
    CLUSTER,
    '--grpc-port',
    String(n.port),
    '--registration-ttl-ms',
    '1500',
    '--registration-wait-ms',
    '15000',
    ...extra,
  ]);
}

async function kill(n: Node): Promise<void> {
  await n.running?.stop('SIGKILL');
  n.running = undefined;
}

const byId = (id: string) => nodes.find((n) => n.id === id) as Node;

async function connect() {
  const client = await connectLedgerClient({ store, cluster: CLUSTER, limits: LIMITS });
  await waitFor('registrations', () => client.registry.writable().length >= 3);
  return client;
}

beforeAll(async () => {
  url = `etcd://${inject('etcdEndpoint')}${uniquePrefix('limbo')}`;
  store = await openMetadataStore(url);
  const ports = await freePorts(4);
  for (let i = 0; i < 4; i++) nodes.push({ id: `lb-${i}`, dirs: bookieDirs(), port: ports[i] });
  await Promise.all(nodes.map((n) => start(n)));
});
afterAll(async () => {
  await stopAll();
  await store.close();
});

describe('a bookie restarted after data loss', { concurrent: false }, () => {
  it('never lets an old writer confirm an entry of a ledger recovery closed, and serves new ledgers normally', async () => {
    const writer = await connect();
    const recoverer = await connect();
    const clients = [writer, recoverer];
    try {
      const ledger = await writer.createLedger(E3_QW3_QA2);
      const [a, , c] = ledger.metadata.segments[0].bookieIds.map(byId);

      await kill(c);
      const recovered = await recoverer.openLedger(ledger.id, { recovery: true, password: PASSWORD });
      expect(recovered.lastAddConfirmed).toBe(-1);

      await kill(a);
      await rm(a.dirs.journalDir, { recursive: true });
      await rm(a.dirs.ledgerDir, { recursive: true });
      // Both come back on new ports: the clients then open new connections (a connection to a
      // restarted address may sit in grpc-js reconnect backoff and make the bookie look failed).
      a.port = await freePort();
      await start(a, ['--data-loss-recovery', 'true']);
      c.port = await freePort();
      await start(c);
      await waitFor('all registered', () => writer.registry.writable().length === 4);

      const append = ledger.append(Buffer.from('late entry of the old writer'));
      const err = await append.then(
        (id) => new Error(`the old writer confirmed entry ${id} of a closed ledger`),
        (e: unknown) => e,
      );
      // Refused by B (FENCED), or A's "unknown" made the writer replace A and the ensemble
      // change failed (no spare bookie, or the metadata is closed): never confirmed.
      expect(['LEDGER_FENCED', 'LEDGER_CLOSED', 'NOT_ENOUGH_BOOKIES']).toContain(errorCode(err));
      // A did not take the normal add (it cannot know it had fenced the ledger).
      const onA = await a.running?.client.readEntry({ ledgerId: BigInt(ledger.id), entryId: 0n });
      expect(onA?.status).toBe(Status.UNKNOWN_LEDGER_STATE);
      const meta = await writer.getLedgerMetadata(ledger.id);
      expect(meta?.state).toBe(LedgerState.CLOSED);
      expect(meta?.lastEntryId).toBe(-1n);
      expect(a.running?.proc.logs()).toMatch(/every ledger created before now is in limbo/);

      /** A new ledger whose ensemble includes A; its appends must not change the ensemble. */
      const ledgerOnA = async (client: typeof writer) => {
        let l = await client.createLedger(E3_QW3_QA2);
        for (let i = 0; i < 50 && !l.metadata.segments[0].bookieIds.includes(a.id); i++)
          l = await client.createLedger(E3_QW3_QA2);
        expect(l.metadata.segments[0].bookieIds).toContain(a.id);
        const ensemble = [...l.metadata.segments[0].bookieIds];
        for (let i = 0; i < 5; i++) expect(await l.append(Buffer.from(`entry ${i}`))).toBe(i);
        // No ensemble change (a change at entry 0 rewrites segment 0): A took every normal add.
        const after = (await client.getLedgerMetadata(l.id))?.segments.map((g) => g.bookieIds);
        expect(after).toEqual([ensemble]);
        return { ledger: l, ensemble };
      };

      // The writer's id batch was reserved before the loss: its next ledger is inside the limbo's
      // id range, but its metadata is OPEN (never fenced), so A takes its normal adds.
      const early = await ledgerOnA(writer);
      expect(early.ledger.id).toBeLessThan(ledger.id + 100);

      // A ledger allocated after the loss (a new client reserves a new batch) is outside the limbo:
      // with another bookie of it down, its recovery decides "entry 5 is absent" from A's answer
      // and the third bookie's.
      const later = await connect();
      await waitFor('all registered', () => later.registry.writable().length === 4);
      clients.push(later);
      const { ledger: fresh, ensemble } = await ledgerOnA(later);
      const [other] = ensemble.filter((id) => id !== a.id);
      await kill(byId(other));
      const closed = await recoverer.openLedger(fresh.id, { recovery: true, password: PASSWORD });
      expect(closed.lastAddConfirmed).toBe(4);
      const read = await closed.read(0, 4);
      expect(read.map((e) => Buffer.from(e.payload).toString())).toEqual(
        [0, 1, 2, 3, 4].map((i) => `entry ${i}`),
      );
    } finally {
      for (const cl of clients) await cl.close();
    }
  });
});
