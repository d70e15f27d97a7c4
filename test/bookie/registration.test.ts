/**
 * Registration and cookies against a real etcd and real bookie processes: the session-bound
 * registration key (writable/readonly), expiry after kill -9, and cookies that refuse wiped,
 * swapped or replaced disks, or, with --data-loss-recovery, answer "unknown" instead of "no entry".
 */
import { rm } from 'node:fs/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Status } from '../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { BookieRegistrationSchema, CookieSchema } from '../../lib/gen/magnetar/meta/v1/meta_pb.ts';
import { keys, openMetadataStore } from '../../lib/metadata/index.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { payloadFor } from '../../services/bookie/testing/client.ts';
import { startLocalEtcd, stopAll, tempDir, uniquePrefix } from '../harness/index.ts';
import { type BookieDirs, bookieDirs, expectStartFailure, startBookieProcess, waitFor } from './helpers.ts';

const CLUSTER = 'bktest';
let url: string;
let store: MetadataStore;

beforeAll(async () => {
  url = `etcd://${inject('etcdEndpoint')}${uniquePrefix('bookie')}`;
  store = await openMetadataStore(url);
});
afterAll(async () => {
  await stopAll();
  await store.close();
});

const meta = (extra: string[] = []) => [
  '--metadata-url',
  url,
  '--cluster-name',
  CLUSTER,
  '--registration-ttl-ms',
  '1500',
  '--registration-wait-ms',
  '15000',
  ...extra,
];

async function addSome(
  b: Awaited<ReturnType<typeof startBookieProcess>>,
  ledgerId: number,
  from: number,
  to: number,
  { recovery = false, expected = Status.OK }: { recovery?: boolean; expected?: Status } = {},
) {
  const s = b.client.openAddSession();
  const res = await s.add(
    Array.from({ length: to - from }, (_, i) => ({
      ledgerId,
      entryId: from + i,
      payload: payloadFor(ledgerId, from + i, 200),
      recovery,
    })),
  );
  expect(res.map((r) => r.status)).toEqual(res.map(() => expected));
  await s.end();
}

describe('bookie registration and cookies (real etcd, real processes)', { concurrent: false }, () => {
  it('registers under a session, moves the key on read-only, and leaves it on shutdown', async () => {
    const probe = join(tempDir('probe-'), 'usage');
    await writeFile(probe, '0.1');
    const b = await startBookieProcess(
      'reg-1',
      bookieDirs(),
      meta(['--disk-usage-probe-file', probe, '--disk-check-interval-ms', '50']),
    );
    const writable = keys.bookieRegistration(CLUSTER, 'writable', 'reg-1');
    const readonly = keys.bookieRegistration(CLUSTER, 'readonly', 'reg-1');
    const entry = await store.get(writable);
    expect(entry?.sessionId).toBeDefined();
    const reg = fromBinary(BookieRegistrationSchema, entry!.value);
    expect(reg.grpcAddress).toBe(b.address);
    expect(reg.readOnly).toBe(false);
    expect(Number(reg.totalDiskBytes)).toBeGreaterThan(0);

    await writeFile(probe, '0.99');
    await waitFor(
      'readonly key',
      async () => (await store.get(readonly)) !== undefined && (await store.get(writable)) === undefined,
    );
    expect(fromBinary(BookieRegistrationSchema, (await store.get(readonly))!.value).readOnly).toBe(true);
    await writeFile(probe, '0.2');
    await waitFor(
      'writable key',
      async () => (await store.get(writable)) !== undefined && (await store.get(readonly)) === undefined,
    );

    const info = await b.client.info();
    const instance = await store.get(keys.instanceId(CLUSTER));
    expect(info.instanceId).toBe(Buffer.from(instance!.value).toString());
    await b.stop();
    expect(await store.get(writable)).toBeUndefined();
  });

  it('lets the registration of a killed bookie expire and registers again on restart', async () => {
    const dirs = bookieDirs();
    const b = await startBookieProcess('reg-2', dirs, meta());
    const key = keys.bookieRegistration(CLUSTER, 'writable', 'reg-2');
    const first = await store.get(key);
    await b.stop('SIGKILL');
    expect((await store.get(key))?.sessionId).toBe(first?.sessionId);
    const b2 = await startBookieProcess('reg-2', dirs, meta());
    const second = await store.get(key);
    expect(second?.sessionId).toBeDefined();
    expect(second?.sessionId).not.toBe(first?.sessionId);
    await b2.stop();
  });

  it('registers again with a new session after losing its session while etcd was unreachable', async () => {
    const etcd = await startLocalEtcd();
    const privateUrl = `etcd://${etcd.endpoint}/lost`;
    const own = await openMetadataStore(privateUrl);
    try {
      const b = await startBookieProcess('reg-3', bookieDirs(), [
        '--metadata-url',
        privateUrl,
        '--cluster-name',
        CLUSTER,
        '--registration-ttl-ms',
        '1000',
        '--registration-wait-ms',
        '20000',
      ]);
      const key = keys.bookieRegistration(CLUSTER, 'writable', 'reg-3');
      const before = (await own.get(key))?.sessionId;
      expect(before).toBeDefined();
      etcd.pause!();
      await new Promise((r) => setTimeout(r, 3000));
      etcd.resume!();
      await waitFor(
        'a new registration',
        async () => {
          const now = await own.get(key).catch(() => undefined);
          return now?.sessionId !== undefined && now.sessionId !== before;
        },
        30_000,
      );
      expect(b.proc.logs()).toMatch(/registration session lost/);
      // It served throughout: the add path never depends on etcd.
      await addSome(b, 1, 0, 5);
      await b.stop();
    } finally {
      await own.close();
      await etcd.stop();
    }
  });

  it('deletes local ledgers whose metadata is gone, and keeps the others', async () => {
    await store.put(keys.ledger(CLUSTER, 61), Buffer.from('metadata'));
    const b = await startBookieProcess(
      'gc-1',
      bookieDirs(),
      meta(['--metadata-gc-interval-ms', '100', '--metadata-gc-grace-ms', '0']),
    );
    await addSome(b, 60, 0, 3);
    await addSome(b, 61, 0, 3);
    await waitFor('ledger 60 collected', async () => {
      const r = await b.client.readEntry({ ledgerId: 60n, entryId: 0n });
      return r.status === Status.NO_LEDGER;
    });
    expect((await b.client.readEntry({ ledgerId: 61n, entryId: 2n })).status).toBe(Status.OK);
    expect(b.proc.logs()).toMatch(/deleted ledgers whose metadata is gone/);
    await b.stop();
  });

  it("refuses to start on wiped disks, on another bookie's disks, and on a replaced journal dir", async () => {
    const dirs = bookieDirs();
    const b = await startBookieProcess('ck-1', dirs, meta());
    const cookie = fromBinary(CookieSchema, (await store.get(keys.cookie(CLUSTER, 'ck-1')))!.value);
    expect(cookie.bookieId).toBe('ck-1');
    await addSome(b, 1, 0, 10);
    await b.stop();

    const other = await startBookieProcess('ck-other', bookieDirs(), meta());
    await other.stop();
    const swapped = await expectStartFailure('ck-other', dirs, meta());
    expect(swapped).toMatch(/BOOKIE_COOKIE_MISMATCH/);

    const wiped: BookieDirs = bookieDirs();
    expect(await expectStartFailure('ck-1', wiped, meta())).toMatch(
      /BOOKIE_COOKIE_MISMATCH.*wiped or replaced/,
    );

    await rm(dirs.journalDir, { recursive: true });
    expect(await expectStartFailure('ck-1', dirs, meta())).toMatch(
      /BOOKIE_COOKIE_MISMATCH.*journal dir was wiped/,
    );
  });

  it('after data loss, rejoins only when told to, then answers unknown and refuses normal adds for older ledgers', async () => {
    const dirs = bookieDirs();
    const b = await startBookieProcess('loss-1', dirs, meta());
    await addSome(b, 7, 0, 20);
    // The ledger id allocator had handed out ids below 100 when the disk was lost.
    await store.put(keys.ledgerIdCounter(CLUSTER), new TextEncoder().encode('100'));
    await b.stop('SIGKILL');
    await rm(dirs.journalDir, { recursive: true });
    await rm(dirs.ledgerDir, { recursive: true });
    expect(await expectStartFailure('loss-1', dirs, meta())).toMatch(/BOOKIE_COOKIE_MISMATCH/);

    const b2 = await startBookieProcess('loss-1', dirs, meta(['--data-loss-recovery', 'true']));
    for (const [ledgerId, entryId] of [
      [7n, 0n],
      [7n, 19n],
      [8n, 0n],
    ] as const) {
      const r = await b2.client.readEntry({ ledgerId, entryId });
      expect(r.status, `${ledgerId}/${entryId}`).toBe(Status.UNKNOWN_LEDGER_STATE);
    }
    expect((await b2.client.readLac({ ledgerId: 7n })).status).toBe(Status.UNKNOWN_LEDGER_STATE);
    // A fence taken before the loss may be forgotten: normal adds to ledgers allocated before it
    // (known or not) are refused; recovery adds are stored and served, and what is missing
    // around them stays unknown.
    await addSome(b2, 7, 20, 22, { expected: Status.UNKNOWN_LEDGER_STATE });
    await addSome(b2, 8, 0, 2, { expected: Status.UNKNOWN_LEDGER_STATE });
    await addSome(b2, 7, 20, 22, { recovery: true });
    expect((await b2.client.readEntry({ ledgerId: 7n, entryId: 21n })).status).toBe(Status.OK);
    expect((await b2.client.readEntry({ ledgerId: 7n, entryId: 5n })).status).toBe(
      Status.UNKNOWN_LEDGER_STATE,
    );
    const fence = await b2.client.fence(7);
    expect(fence.status).toBe(Status.UNKNOWN_LEDGER_STATE);
    // Ledgers allocated after the loss are outside the limbo: normal adds, and absence is real.
    await addSome(b2, 100, 0, 3);
    expect((await b2.client.readEntry({ ledgerId: 100n, entryId: 3n })).status).toBe(Status.NO_ENTRY);
    expect((await b2.client.readEntry({ ledgerId: 101n, entryId: 0n })).status).toBe(Status.NO_LEDGER);
    await b2.stop();
    // The limbo is durable: a plain restart (no flag) still says unknown.
    const b3 = await startBookieProcess('loss-1', dirs, meta());
    expect((await b3.client.readEntry({ ledgerId: 7n, entryId: 3n })).status).toBe(
      Status.UNKNOWN_LEDGER_STATE,
    );
    expect((await b3.client.readEntry({ ledgerId: 9n, entryId: 0n })).status).toBe(
      Status.UNKNOWN_LEDGER_STATE,
    );
    await addSome(b3, 7, 22, 23, { expected: Status.FENCED }); // fenced above, durably
    await addSome(b3, 8, 2, 3, { expected: Status.UNKNOWN_LEDGER_STATE });
    await addSome(b3, 100, 3, 4);
    expect((await b3.client.readEntry({ ledgerId: 102n, entryId: 0n })).status).toBe(Status.NO_LEDGER);
    await b3.stop();
  });
});
