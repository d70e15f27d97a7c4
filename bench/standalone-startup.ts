/**
 * How long `magnetar standalone` takes from the command to a ready broker (target < 2 s on this
 * machine). Each run starts the real command as a child process on free ports and measures:
 *  - ready: spawn → the "is ready" line (the broker, bookie and coordinator serve);
 *  - first send: spawn → a client created a producer and got its first receipt (a real write
 *    through the broker to the bookie's fsynced journal);
 *  - self: the ms after process start the process itself reports.
 * Scenarios: first start on an empty data dir, and restart on the same dir. Runs `bin/magnetar`
 * (the wrapper the README uses). Prints figures; not a test. Usage: node bench/standalone-startup.ts [--runs 5]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PulsarClient } from '../lib/client/index.ts';

// The README's command: the bash wrapper (bin/setup's checks, then the pinned Node).
const MAGNETAR = join(import.meta.dirname, '../bin/magnetar');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

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

interface Sample {
  readyMs: number;
  firstSendMs: number;
  selfMs: number;
}

async function once(dataDir: string): Promise<Sample> {
  const [port, web] = [await freePort(), await freePort()];
  const t0 = performance.now();
  const child = spawn(
    MAGNETAR,
    [
      'standalone',
      '--data-dir',
      dataDir,
      '--broker-service-port',
      String(port),
      '--web-service-port',
      String(web),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const ready = new Promise<{ readyMs: number; selfMs: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 60 s:\n${out}`)), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /is ready \((\d+) ms after process start\)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ readyMs: performance.now() - t0, selfMs: Number(m[1]) });
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
  });
  try {
    const { readyMs, selfMs } = await ready;
    const client = new PulsarClient({ serviceUrl: `pulsar://127.0.0.1:${port}` });
    const producer = await client.createProducer({ topic: `startup-${Date.now()}` });
    await producer.send({ payload: 'first' });
    const firstSendMs = performance.now() - t0;
    await client.close();
    return { readyMs, firstSendMs, selfMs };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  }
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const f = (n: number) => `${Math.round(n)}`.padStart(5);
  return `min ${f(s[0])}  median ${f(s[Math.floor(s.length / 2)])}  max ${f(s[s.length - 1])} ms`;
}

async function main(): Promise<void> {
  console.log(
    `magnetar standalone start-up, ${RUNS} runs per scenario; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const fresh: Sample[] = [];
  const restart: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'standalone-bench-'));
    try {
      fresh.push(await once(dir));
      restart.push(await once(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const [name, samples] of [
    ['first start (empty data dir)', fresh],
    ['restart (same data dir)', restart],
  ] as const) {
    console.log(`\n${name}`);
    console.log(`  command → ready broker   ${stats(samples.map((s) => s.readyMs))}`);
    console.log(`  process-reported ready   ${stats(samples.map((s) => s.selfMs))}`);
    console.log(`  command → first receipt  ${stats(samples.map((s) => s.firstSendMs))}`);
  }
  console.log(
    `\nload average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

await main();
