/**
 * Producer deduplication across a broker crash: a real broker process (main.ts) with the
 * namespace's dedup policy on is SIGKILLed after accepting messages; a new broker process recovers
 * the dedup state (snapshot in the dedup cursor + replay of the entries after it), tells the
 * reconnecting producer its last sequence id, answers resent messages as duplicates, and the topic
 * holds every message exactly once.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { builtinPolicyDefaults } from '../../lib/policies/defaults.ts';
import { updatePolicies } from '../../lib/policies/namespaces.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import { stopAll } from '../harness/index.ts';
import { spawnBroker, startStorageCluster, type StorageCluster } from './cluster.ts';
import { T, WireClient } from './wire-client.ts';

let sc: StorageCluster;

beforeAll(async () => {
  sc = await startStorageCluster(inject('etcdEndpoint'), 1, 1);
  const ps = new PolicyStore(sc.store, { cluster: sc.rc.cluster, defaults: builtinPolicyDefaults() });
  await ps.start();
  await updatePolicies(ps, { tenant: 'public', namespace: 'default' }, (p) => {
    p.deduplicationEnabled = true;
  });
  await ps.close();
});
afterAll(async () => {
  await stopAll();
  await sc?.stop();
});

it('a producer resending after a broker SIGKILL creates no duplicates', async () => {
  const t = 'persistent://public/default/dedup-kill';
  const flags = { brokerDeduplicationEntriesInterval: 20 };
  let broker = await spawnBroker(sc, 'broker-a', flags);
  let c = await WireClient.open(broker.port);
  await c.lookupUntil(t, broker.url);
  const created = await c.createProducer(t, 1n, { producerName: 'dedup-producer' });
  expect(created.producerSuccess?.lastSequenceId).toBe(-1n);
  for (let i = 0n; i < 50n; i++) expect((await c.publish(1n, i, `m${i}`)).type).toBe(T.SEND_RECEIPT);
  // a resend while the broker is up is a duplicate, answered without a new entry
  const dup = await c.publish(1n, 10n, 'm10');
  expect(dup.sendReceipt?.messageId?.entryId).toBe(2n ** 64n - 1n);
  c.close();

  await broker.proc.kill('SIGKILL');
  broker = await spawnBroker(sc, 'broker-b', flags);
  c = await WireClient.open(broker.port);
  // the killed broker's bundle is released once its session expires; then it comes here
  await c.lookupUntil(t, broker.url);
  const again = await c.createProducer(t, 1n, { producerName: 'dedup-producer' });
  expect(again.producerSuccess?.lastSequenceId).toBe(49n);
  const stored: bigint[] = [];
  for (let i = 30n; i < 60n; i++) {
    const r = await c.publish(1n, i, `m${i}`);
    expect(r.type).toBe(T.SEND_RECEIPT);
    if (r.sendReceipt?.messageId?.entryId !== 2n ** 64n - 1n) stored.push(i);
  }
  expect(stored).toEqual(Array.from({ length: 10 }, (_, k) => 50n + BigInt(k)));

  await c.subscribe(t, 'check', 2n, 0, { initialPosition: 1 });
  c.flow(2n, 1000);
  const msgs = await c.waitForMessages(2n, 60);
  expect(msgs.map((m) => m.payloads[0])).toEqual(Array.from({ length: 60 }, (_, i) => `m${i}`));
  c.close();
  await broker.proc.kill('SIGTERM');
});
