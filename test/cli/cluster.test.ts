/**
 * `magnetar cluster up | status | down` as real processes: a local cluster of etcd (the local
 * binary), two bookies, two brokers and a coordinator on free ports; messages go through it; down
 * stops every process.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PulsarClient } from '../../lib/client/index.ts';
import { tempDir } from '../harness/index.ts';

const MAGNETAR = join(import.meta.dirname, '../../bin/magnetar.ts');
const dir = tempDir('cluster-');

function magnetar(
  args: string[],
  timeoutMs = 150_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAGNETAR, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`magnetar ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Status {
  serviceUrl: string;
  processes: { name: string; pid: number; running: boolean; healthy: boolean }[];
}

afterAll(async () => {
  // whatever happened, leave no process behind
  await magnetar(['cluster', 'down', '--dir', dir, '--grace-ms', '5000']).catch(() => undefined);
});

describe('magnetar cluster', { concurrent: false }, () => {
  it('up starts etcd, bookies, brokers and a coordinator; status shows them; down stops them', {
    timeout: 240_000,
  }, async () => {
    const up = await magnetar([
      'cluster',
      'up',
      '--dir',
      dir,
      '--bookies',
      '2',
      '--brokers',
      '2',
      '--coordinators',
      '1',
      '--auto-ports',
      '--json',
    ]);
    expect(up.code, up.stderr).toBe(0);
    const again = await magnetar(['cluster', 'up', '--dir', dir, '--auto-ports']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already running');

    const st = await magnetar(['cluster', 'status', '--dir', dir, '--json']);
    expect(st.code).toBe(0);
    const status = JSON.parse(st.stdout) as Status;
    expect(status.processes.map((p) => p.name)).toEqual([
      'etcd',
      'bookie-0',
      'bookie-1',
      'broker-0',
      'broker-1',
      'coordinator-0',
    ]);
    expect(status.processes.every((p) => p.running && p.healthy)).toBe(true);

    // Traffic through the first broker (topics are replicated on both bookies: E=Qw=Qa=2).
    const client = new PulsarClient({
      serviceUrl: status.serviceUrl.split(',')[0],
      operationTimeoutMs: 30_000,
    });
    try {
      const topic = `persistent://public/default/cluster-${process.pid}`;
      const consumer = await client.subscribe({ topic, subscription: 's' });
      const producer = await client.createProducer({ topic });
      await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ payload: `c${i}` })));
      const got: string[] = [];
      for (let i = 0; i < 20; i++) {
        const m = await consumer.receive(20_000);
        got.push(m.text());
        consumer.ack(m);
      }
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`));
    } finally {
      await client.close();
    }

    const down = await magnetar(['cluster', 'down', '--dir', dir, '--json']);
    expect(down.code).toBe(0);
    const results = JSON.parse(down.stdout) as { name: string; result: string }[];
    expect(results.map((r) => r.name)).toEqual([
      'coordinator-0',
      'broker-0',
      'broker-1',
      'bookie-0',
      'bookie-1',
      'etcd',
    ]);
    expect(results.every((r) => r.result === 'stopped' || r.result === 'killed')).toBe(true);
    const after = await magnetar(['cluster', 'status', '--dir', dir, '--json']);
    expect(after.code).toBe(3);
    expect((JSON.parse(after.stdout) as Status).processes.every((p) => !p.running)).toBe(true);
  });
});
