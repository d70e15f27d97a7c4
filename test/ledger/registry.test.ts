/**
 * Bookie discovery on a real etcd: registrations written under the writable / read-only
 * prefixes (bound to sessions, as bookies write them) are listed and then followed by watch.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BookieRegistrationSchema } from '../../lib/gen/magnetar/meta/v1/meta_pb.ts';
import { watchBookieRegistry } from '../../lib/ledger/driver/registry.ts';
import { openMetadataStore } from '../../lib/metadata/index.ts';
import * as keys from '../../lib/metadata/keys.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { uniquePrefix } from '../harness/index.ts';

let store: MetadataStore;
const cluster = 'regtest';

beforeAll(async () => {
  store = await openMetadataStore(`etcd://${inject('etcdEndpoint')}${uniquePrefix('ledger-reg')}`);
});
afterAll(async () => {
  await store?.close();
});

const reg = (id: string, port: number, zone: string, readOnly = false) =>
  toBinary(
    BookieRegistrationSchema,
    create(BookieRegistrationSchema, {
      bookieId: id,
      grpcAddress: `127.0.0.1:${port}`,
      readOnly,
      labels: { zone },
    }),
  );

async function eventually(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(cond()).toBe(true);
}

describe('bookie registry', () => {
  it('lists writable bookies and follows registrations, read-only moves and expiries', async () => {
    const s1 = await store.createSession(5_000);
    const s2 = await store.createSession(5_000);
    await store.put(keys.bookieRegistration(cluster, 'writable', 'b1'), reg('b1', 1001, 'z1'), {
      session: s1,
    });
    await store.put(keys.bookieRegistration(cluster, 'writable', 'b2'), reg('b2', 1002, 'z2'), {
      session: s2,
    });
    await store.put(keys.bookieRegistration(cluster, 'writable', 'junk'), Buffer.from('not a registration'));
    const registry = await watchBookieRegistry({
      store,
      writablePrefix: keys.bookieRegistrationsPrefix(cluster, 'writable'),
      readOnlyPrefix: keys.bookieRegistrationsPrefix(cluster, 'readonly'),
    });
    const writable = () =>
      registry
        .writable()
        .map((b) => b.id)
        .sort();
    expect(writable()).toEqual(['b1', 'b2']);
    expect(registry.get('b2')).toMatchObject({
      grpcAddress: '127.0.0.1:1002',
      labels: { zone: 'z2' },
      readOnly: false,
    });

    await store.put(keys.bookieRegistration(cluster, 'writable', 'b3'), reg('b3', 1003, 'z3'));
    await eventually(() => writable().join() === 'b1,b2,b3');

    // b2 turns read-only: the bookie moves its key in one transaction.
    await store.txn([
      { op: 'delete', key: keys.bookieRegistration(cluster, 'writable', 'b2') },
      {
        op: 'put',
        key: keys.bookieRegistration(cluster, 'readonly', 'b2'),
        value: reg('b2', 1002, 'z2', true),
        session: s2,
      },
    ]);
    // One watch over both prefixes: the delete and the put of that transaction arrive together,
    // so b2 is never missing from both lists.
    await eventually(() => writable().join() === 'b1,b3');
    expect(registry.get('b2')?.readOnly).toBe(true); // still readable

    // b1's session ends (a crashed bookie's lease expiring): it disappears.
    await s1.close();
    await eventually(() => writable().join() === 'b3');
    expect(registry.get('b1')).toBeUndefined();
    await s2.close();
    await registry.close();
  });
});
