/**
 * Namespace policy changes reach loaded topics: switching deduplication on and off through the
 * policy store (lib/policies, real etcd) changes what a running topic does with resent sequence
 * ids, without reloading it.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { PolicyStoreProvider } from '../../lib/policies/broker-provider.ts';
import { builtinPolicyDefaults } from '../../lib/policies/defaults.ts';
import { updatePolicies } from '../../lib/policies/namespaces.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import { stopAll } from '../harness/index.ts';
import { startStorageBroker, startStorageCluster, type StorageCluster } from './cluster.ts';
import { eventually } from './harness.ts';
import { T, WireClient } from './wire-client.ts';

let sc: StorageCluster;
let ps: PolicyStore;
let broker: Awaited<ReturnType<typeof startStorageBroker>>;

beforeAll(async () => {
  sc = await startStorageCluster(inject('etcdEndpoint'), 1, 1);
  const defaults = {
    ...builtinPolicyDefaults(),
    managedLedgerDefaultEnsembleSize: 1,
    managedLedgerDefaultWriteQuorum: 1,
    managedLedgerDefaultAckQuorum: 1,
  };
  ps = new PolicyStore(sc.store, { cluster: sc.rc.cluster, defaults });
  await ps.start();
  broker = await startStorageBroker(sc, {}, { policies: new PolicyStoreProvider(ps) });
  ps.onChange((change) => {
    if (change.kind === 'namespace')
      void broker.policiesChanged({ namespace: `${change.tenant}/${change.namespace}` });
  });
});
afterAll(async () => {
  await broker?.storageClose();
  await ps?.close();
  await sc?.stop();
  await stopAll();
});

const DUP = 2n ** 64n - 1n;
const setDedup = (on: boolean) =>
  updatePolicies(ps, { tenant: 'public', namespace: 'default' }, (p) => {
    p.deduplicationEnabled = on;
  });

it('switches deduplication of a loaded topic on and off with the namespace policy', async () => {
  const t = 'persistent://public/default/dedup-live';
  const c = await WireClient.open(broker.brokerServicePort);
  const created = await c.createProducer(t, 1n, { producerName: 'live' });
  expect(created.error?.message).toBeUndefined();
  const entryOf = async (seq: bigint) =>
    (await c.publish(1n, seq, `m${seq}`)).sendReceipt?.messageId?.entryId;
  expect(await entryOf(0n)).not.toBe(DUP);
  expect(await entryOf(0n)).not.toBe(DUP);
  expect((await broker.service.topicStats(t)).deduplicationStatus).toBe('Disabled');

  await setDedup(true);
  await eventually(
    async () => (await broker.service.topicStats(t)).deduplicationStatus === 'Enabled',
    'dedup on',
  );
  expect(await entryOf(5n)).not.toBe(DUP);
  expect(await entryOf(5n)).toBe(DUP);
  expect(await entryOf(3n)).toBe(DUP);
  expect((await c.publish(1n, 6n, 'm6')).type).toBe(T.SEND_RECEIPT);

  await setDedup(false);
  await eventually(
    async () => (await broker.service.topicStats(t)).deduplicationStatus === 'Disabled',
    'dedup off',
  );
  expect(await entryOf(5n)).not.toBe(DUP);
  expect(await broker.service.listSubscriptions(t)).toEqual([]);
  c.close();
});
