/**
 * `magnetar standalone` as a real process: it prints its URLs when ready, stops cleanly on
 * Ctrl-C (SIGINT), and after a restart — clean or SIGKILL — every acknowledged message and the
 * subscription's cursor are still there.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Consumer, MessageId, PulsarClient } from '../../lib/client/index.ts';
import { freePorts, type ServiceProcess, spawnProcess, stopAll, tempDir } from '../harness/index.ts';

const MAGNETAR = join(import.meta.dirname, '../../bin/magnetar.ts');

const dataDir = tempDir('standalone-');
let ports: number[] = [];
const clients: PulsarClient[] = [];

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await stopAll();
});

async function start(name: string): Promise<{ proc: ServiceProcess; serviceUrl: string; adminUrl: string }> {
  if (ports.length === 0) ports = await freePorts(2);
  const proc = spawnProcess({
    name,
    args: [
      MAGNETAR,
      'standalone',
      ...[
        '--data-dir',
        dataDir,
        '--broker-service-port',
        String(ports[0]),
        '--web-service-port',
        String(ports[1]),
      ],
    ],
  });
  const ready = proc.waitForOutput(/Magnetar standalone is ready/, 60_000);
  const service = proc.waitForOutput(/service URL/, 60_000);
  const admin = proc.waitForOutput(/admin URL/, 60_000);
  await ready;
  const serviceUrl = (await service).trim().split(/\s+/).pop()!;
  const adminUrl = (await admin).trim().split(/\s+/).pop()!;
  return { proc, serviceUrl, adminUrl };
}

function client(serviceUrl: string): PulsarClient {
  const c = new PulsarClient({ serviceUrl, operationTimeoutMs: 20_000 });
  clients.push(c);
  return c;
}

async function take(consumer: Consumer, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const m = await consumer.receive(15_000);
    out.push(m.text());
    await consumer.acknowledge(m);
  }
  return out;
}

describe('magnetar standalone process', { concurrent: false }, () => {
  const topic = `persistent://public/default/durable-${process.pid}`;

  it('starts with public/default ready and prints the service and admin URLs', async () => {
    const { proc, serviceUrl, adminUrl } = await start('standalone-1');
    expect(serviceUrl).toBe(`pulsar://127.0.0.1:${ports[0]}`);
    expect(adminUrl).toBe(`http://127.0.0.1:${ports[1]}`);
    const tenants = await (await fetch(`${adminUrl}/admin/v2/tenants`)).json();
    expect(tenants).toContain('public');
    const namespaces = await (await fetch(`${adminUrl}/admin/v2/namespaces/public`)).json();
    expect(namespaces).toContain('public/default');
    const c = client(serviceUrl);
    const consumer = await c.subscribe({ topic, subscription: 'keep', ackReceiptEnabled: true });
    // One entry per message: acking part of a batch would not move the cursor (no batch-index acks).
    const producer = await c.createProducer({ topic, batchingEnabled: false });
    await Promise.all(Array.from({ length: 100 }, (_, i) => producer.send({ payload: `m${i}` })));
    expect(await take(consumer, 40)).toEqual(Array.from({ length: 40 }, (_, i) => `m${i}`));
    await c.close();
    expect(proc.logs()).toMatch(/created\s+cluster standalone, tenant public, namespace public\/default/);
    await proc.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
    expect(proc.logs()).toContain('stopped');
  });

  it('after a clean restart has every message and the cursor exactly where it was', async () => {
    const { proc, serviceUrl } = await start('standalone-2');
    expect(proc.logs()).not.toMatch(/created\s+cluster/);
    const c = client(serviceUrl);
    const consumer = await c.subscribe({ topic, subscription: 'keep', ackReceiptEnabled: true });
    expect(await take(consumer, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 40}`));
    const reader = await c.createReader({ topic, startMessageId: MessageId.earliest });
    const all: string[] = [];
    while (await reader.hasMessageAvailable()) all.push((await reader.readNext(15_000)).text());
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    // Give the cursor time to persist (markDeleteRatePerSecond 1) and ack once more to trigger it.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await take(consumer, 1)).toEqual(['m60']);
    await new Promise((r) => setTimeout(r, 1500));
    await c.close();
    await proc.kill('SIGKILL');
  });

  it('after SIGKILL loses no acknowledged message and keeps the persisted cursor', async () => {
    const { proc, serviceUrl } = await start('standalone-3');
    const c = client(serviceUrl);
    const consumer = await c.subscribe({ topic, subscription: 'keep' });
    const rest: string[] = [];
    for (;;) {
      const m = await consumer.receive(3000).catch(() => undefined);
      if (!m) break;
      rest.push(m.text());
      consumer.ack(m);
    }
    // m40..m59 were acknowledged and persisted before the kill: they do not come back. m60 may
    // (its ack was the last one and may not have been persisted), everything after it must.
    const tail = Array.from({ length: 39 }, (_, i) => `m${i + 61}`);
    expect(rest[0] === 'm60' ? rest.slice(1) : rest).toEqual(tail);
    await c.close();
    await proc.kill('SIGINT');
    expect((await proc.exited).code).toBe(0);
  });
});
