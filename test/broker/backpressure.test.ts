/**
 * Bounded per-connection queues: SENDs beyond the pending limit pause the socket (receipts still
 * come, in order); a consumer whose socket does not drain stops receiving (dispatch pauses) and
 * gets everything, in order, once it reads again; a connection that never reads while the broker
 * has to answer it is closed at the hard limit, and the broker keeps serving others.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { stopAll } from '../harness/index.ts';
import { startStorageBroker, startStorageCluster, type StorageCluster } from './cluster.ts';
import { eventually, sleep } from './harness.ts';
import { buildSend, T, WireClient } from './wire-client.ts';

let sc: StorageCluster;
let broker: Awaited<ReturnType<typeof startStorageBroker>>;
let port: number;

beforeAll(async () => {
  sc = await startStorageCluster(inject('etcdEndpoint'), 1, 1);
  broker = await startStorageBroker(sc, {
    maxPendingSendsPerConnection: 4,
    maxOutboundBytesPerConnection: 64 * 1024,
    maxOutboundHardBytesPerConnection: 256 * 1024,
  });
  port = broker.brokerServicePort;
});
afterAll(async () => {
  await broker?.storageClose();
  await sc?.stop();
  await stopAll();
});

it('pauses reading past the pending-send limit and still answers every SEND in order', async () => {
  const c = await WireClient.open(port);
  const t = 'persistent://public/default/bp-sends';
  await c.createProducer(t, 1n);
  const all = Buffer.concat(Array.from({ length: 200 }, (_, i) => buildSend(1n, BigInt(i), `m${i}`)));
  c.writeRaw(all);
  await eventually(() => c.received.filter((x) => x.type === T.SEND_RECEIPT).length === 200, '200 receipts');
  const seqs = c.received
    .filter((x) => x.type === T.SEND_RECEIPT)
    .map((x) => Number(x.sendReceipt!.sequenceId));
  expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i));
  c.close();
});

it('stops dispatching to a consumer that does not read and resumes without loss', async () => {
  const t = 'persistent://public/default/bp-slow';
  const consumer = await WireClient.open(port);
  await consumer.subscribe(t, 's', 1n, 0);
  consumer.flow(1n, 10_000);
  consumer.socket.pause();
  const producer = await WireClient.open(port);
  await producer.createProducer(t, 1n);
  const payload = 'x'.repeat(20_000);
  for (let i = 0; i < 400; i++)
    expect((await producer.publish(1n, BigInt(i), `${i}:${payload}`)).type).toBe(T.SEND_RECEIPT);
  await sleep(300);
  const stats = await broker.service.topicStats(t);
  // 8 MB published; the paused consumer's connection holds far less than that (kernel + limit)
  expect(stats.subscriptions.s.msgOutCounter).toBeLessThan(400);
  consumer.socket.resume();
  const got = await consumer.waitForMessages(1n, 400, 30_000);
  expect(got.map((m) => Number(m.payloads[0].split(':')[0]))).toEqual(
    Array.from({ length: 400 }, (_, i) => i),
  );
  consumer.close();
  producer.close();
});

it('closes a connection that never reads once its answers exceed the hard limit', async () => {
  const hog = await WireClient.open(port);
  hog.socket.pause();
  const ping = Buffer.from('00000009000000050812920100', 'hex');
  const burst = Buffer.concat(Array.from({ length: 20_000 }, () => ping));
  for (let i = 0; i < 100 && !hog.closed; i++) {
    hog.writeRaw(burst);
    await sleep(10);
  }
  hog.socket.resume();
  await hog.closedPromise;
  const ok = await WireClient.open(port);
  ok.send({ type: T.PING, ping: {} });
  await ok.waitFor((x) => x.type === T.PONG);
  ok.close();
});
