/**
 * The client against a real broker: a `magnetar standalone` child process (broker + bookie with
 * fsync) and, in this process, a producer sending as fast as its pending window allows, then a
 * consumer reading the backlog. Reports msg/s and this process's CPU per message (the client
 * only: the broker runs in the child), which peers.md compares with other clients (nats.js ~40
 * µs/msg, ioredis ~11 µs/msg on this machine).
 * Usage: node bench/client-throughput.ts [--seconds 5] [--sizes 100,1024]
 * (STANDALONE_NODE_ARGS="..." passes node flags to the standalone process.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PulsarClient } from '../lib/client/index.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SECONDS = Number(arg('seconds', '5'));
const SIZES = arg('sizes', '100,1024').split(',').map(Number);
const MAGNETAR = join(import.meta.dirname, '../bin/magnetar.ts');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

async function startStandalone(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const [port, web] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      // STANDALONE_NODE_ARGS: node flags for the standalone process (V8 flags, --cpu-prof ...).
      ...(process.env.STANDALONE_NODE_ARGS ? process.env.STANDALONE_NODE_ARGS.split(' ') : []),
      MAGNETAR,
      'standalone',
      '--data-dir',
      dir,
      '--broker-service-port',
      String(port),
      '--web-service-port',
      String(web),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('is ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`standalone exited ${code}: ${out}`)));
  });
  return {
    url: `pulsar://127.0.0.1:${port}`,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    },
  };
}

const cpuMicros = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return u.user + u.system;
};

async function produce(
  client: PulsarClient,
  topic: string,
  size: number,
  batching: boolean,
): Promise<string> {
  const producer = await client.createProducer({
    topic,
    batchingEnabled: batching,
    maxPendingMessages: 5000,
    sendTimeoutMs: 0,
  });
  const payload = Buffer.alloc(size, 1);
  let acked = 0;
  let failed = 0;
  const done = (err: Error | undefined) => (err ? failed++ : acked++);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    while (producer.pendingMessages < 5000) producer.sendAsync({ payload }, done);
    await producer.waitForCapacity();
  }
  await producer.flush();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuMicros(cpu0);
  await producer.close();
  const line = `produce ${String(size).padStart(5)} B ${batching ? 'batched  ' : 'unbatched'} ${Math.round(
    acked / seconds,
  )
    .toLocaleString('en-US')
    .padStart(9)} msg/s  ${(cpu / acked).toFixed(1).padStart(6)} µs CPU/msg  failed ${failed}`;
  return line;
}

async function consume(client: PulsarClient, topic: string, size: number): Promise<string> {
  const consumer = await client.subscribe({
    topic,
    subscription: 'bench',
    subscriptionInitialPosition: 'Earliest',
    batchReceivePolicy: { maxNumMessages: 1000, timeoutMs: 0 },
  });
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (;;) {
    const first = await consumer.receive(2000).catch(() => undefined);
    if (!first) break;
    for (const m of [first, ...(await consumer.batchReceive())]) {
      consumer.ack(m);
      n++;
    }
  }
  const seconds = (performance.now() - t0) / 1000 - 2;
  const cpu = cpuMicros(cpu0);
  await consumer.close();
  return `consume ${String(size).padStart(5)} B backlog    ${Math.round(n / seconds)
    .toLocaleString('en-US')
    .padStart(9)} msg/s  ${(cpu / n).toFixed(1).padStart(6)} µs CPU/msg  (${n} messages)`;
}

async function main(): Promise<void> {
  console.log(
    `client throughput against a standalone process, ${SECONDS} s per run; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'client-bench-'));
  const sa = await startStandalone(dir);
  const client = new PulsarClient({ serviceUrl: sa.url });
  try {
    for (const size of SIZES) {
      for (const batching of [true, false]) {
        const topic = `bench-${size}-${batching}-${Date.now()}`;
        // subscription first, so the backlog is kept for the consume run
        await (await client.subscribe({ topic, subscription: 'bench' })).close();
        console.log(await produce(client, topic, size, batching));
        if (batching) console.log(await consume(client, topic, size));
      }
    }
  } finally {
    await client.close();
    await sa.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

await main();
