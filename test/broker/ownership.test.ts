/**
 * Two real broker processes with cluster ownership (lib/cluster) over etcd and a real bookie:
 * LOOKUP on either answers the topic's owner, the other broker refuses to serve the topic
 * (ServiceNotReady, so clients look up again), and when the owner is SIGKILLed the topic moves
 * to the survivor with its stored messages.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { ServerError } from '../../lib/wire/protocol.ts';
import { stopAll } from '../harness/index.ts';
import { type BrokerProcess, spawnBroker, startStorageCluster, type StorageCluster } from './cluster.ts';
import { T, WireClient } from './wire-client.ts';

let sc: StorageCluster;
let brokers: BrokerProcess[];

beforeAll(async () => {
  sc = await startStorageCluster(inject('etcdEndpoint'), 1, 1);
  brokers = [await spawnBroker(sc, 'owner-a'), await spawnBroker(sc, 'owner-b')];
});
afterAll(async () => {
  await stopAll();
  await sc?.stop();
});

/** Ask `via` where the topic lives, following one redirect. */
async function ownerOf(topic: string, via: BrokerProcess): Promise<BrokerProcess> {
  const c = await WireClient.open(via.port);
  let r = await c.lookup(topic);
  c.close();
  if (r.response === 'redirect') {
    const next = brokers.find((b) => b.url === r.url)!;
    const c2 = await WireClient.open(next.port);
    r = await c2.lookup(topic);
    c2.close();
  }
  expect(r.response).toBe('connect');
  return brokers.find((b) => b.url === r.url)!;
}

it('serves a topic only on its owner and moves it when the owner dies', async () => {
  const t = 'persistent://public/default/owned-topic';
  const owner = await ownerOf(t, brokers[0]);
  expect(await ownerOf(t, brokers[1])).toBe(owner);
  const other = brokers.find((b) => b !== owner)!;

  const refused = await WireClient.open(other.port);
  expect((await refused.createProducer(t, 1n)).error?.error).toBe(ServerError.ServiceNotReady);
  refused.close();

  const c = await WireClient.open(owner.port);
  await c.lookupUntil(t, owner.url);
  await c.subscribe(t, 'keep', 2n, 0, { initialPosition: 1 });
  await c.createProducer(t, 1n);
  for (let i = 0; i < 5; i++) expect((await c.publish(1n, BigInt(i), `m${i}`)).type).toBe(T.SEND_RECEIPT);
  c.close();

  await owner.proc.kill('SIGKILL');
  brokers = [other];
  const s = await WireClient.open(other.port);
  await s.lookupUntil(t, other.url);
  expect((await s.subscribe(t, 'keep', 3n, 0)).type).toBe(T.SUCCESS);
  s.flow(3n, 10);
  expect((await s.waitForMessages(3n, 5)).map((m) => m.payloads[0])).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  s.close();
});
