/**
 * The magnetar command's client tools as real processes against a real standalone broker:
 * produce (arguments, files, stdin) then consume returns the same payloads, keys and properties;
 * perf produce/consume/e2e runs bounded and reports JSON; --help works everywhere.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStandalone, type TestCluster, uniqueTopic } from '../client/helpers.ts';
import { tempDir } from '../harness/index.ts';

const MAGNETAR = join(import.meta.dirname, '../../bin/magnetar.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `magnetar <args>` with optional stdin, bounded by timeoutMs. */
function magnetar(args: string[], input?: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAGNETAR, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
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
      reject(new Error(`magnetar ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

let tc: TestCluster;
let url: string;

/** Create a durable subscription (it then keeps every later message for the CLI to read). */
async function subscription(topic: string, name: string): Promise<void> {
  const consumer = await tc.client().subscribe({ topic, subscription: name });
  await consumer.close();
}

beforeAll(async () => {
  tc = await startTestStandalone();
  url = tc.serviceUrl;
});

afterAll(async () => {
  await tc?.stop();
});

describe('magnetar produce / consume', { concurrent: false }, () => {
  it('prints help for every command and refuses bad usage with exit code 2', async () => {
    for (const args of [
      ['--help'],
      ['produce', '--help'],
      ['consume', '--help'],
      ['perf', 'produce', '--help'],
      ['cluster', '--help'],
      ['standalone', '--help'],
    ]) {
      const r = await magnetar(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/Usage|usage/);
    }
    expect((await magnetar(['produce'])).code).toBe(2);
    expect((await magnetar(['consume', 't', '--subscription-type', 'Bogus'])).code).toBe(2);
    expect((await magnetar(['perf', 'produce', 't', '--duration-s', '0', '--num-messages', '0'])).code).toBe(
      2,
    );
  });

  it('consume returns what produce sent from arguments, files and stdin, with key and properties', async () => {
    const topic = uniqueTopic('cli');
    const dir = tempDir('cli-');
    const file = join(dir, 'body.txt');
    writeFileSync(file, 'from a file');
    const lines = join(dir, 'lines.txt');
    writeFileSync(lines, 'line one\nline two\n');
    // the subscription exists before the messages (the consume below then reads its backlog)
    await subscription(topic, 'cli');
    const a = await magnetar([
      'produce',
      topic,
      '-s',
      url,
      '-m',
      'hello',
      '-m',
      'world',
      '-k',
      'k1',
      '-p',
      'a=1',
      '-p',
      'b=two',
    ]);
    expect(a.code).toBe(0);
    expect(a.stderr).toContain('2 messages produced');
    expect(a.stdout.trim().split('\n')).toHaveLength(2);
    expect((await magnetar(['produce', topic, '-s', url, '-f', file])).code).toBe(0);
    expect((await magnetar(['produce', topic, '-s', url, '-f', lines, '--lines'])).code).toBe(0);
    expect((await magnetar(['produce', topic, '-s', url], 'stdin one\nstdin two\n')).code).toBe(0);
    const r = await magnetar(['consume', topic, '-s', url, '-S', 'cli', '-n', '7', '--json']);
    expect(r.code).toBe(0);
    const got = r.stdout
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { payload: string; key: string | null; properties: Record<string, string> },
      );
    expect(got.map((m) => m.payload).sort()).toEqual(
      ['hello', 'world', 'from a file', 'line one', 'line two', 'stdin one', 'stdin two'].sort(),
    );
    const hello = got.find((m) => m.payload === 'hello')!;
    expect(hello.key).toBe('k1');
    expect(hello.properties).toEqual({ a: '1', b: 'two' });
  });

  it('consume from the earliest position in the default text format; a later run continues', async () => {
    const topic = uniqueTopic('cli-earliest');
    expect(
      (
        await magnetar([
          'produce',
          topic,
          '-s',
          url,
          '-m',
          'first',
          '-m',
          'second',
          '-n',
          '2',
          '--no-batching',
        ])
      ).code,
    ).toBe(0);
    const r = await magnetar(['consume', topic, '-s', url, '-p', 'earliest', '-n', '3']);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/----- got message -----/g)).toHaveLength(3);
    expect(r.stdout).toContain('content:first');
    const rest = await magnetar(['consume', topic, '-s', url, '-n', '5', '--idle-timeout-ms', '1500']);
    // one message left: exit code 1 because fewer than -n arrived before the idle timeout
    expect(rest.code).toBe(1);
    expect(rest.stdout.match(/----- got message -----/g)).toHaveLength(1);
    expect(rest.stderr).toContain('1 messages received');
  });
});

describe('magnetar perf', { concurrent: false }, () => {
  it('perf produce and perf consume are bounded and report JSON summaries', async () => {
    const topic = uniqueTopic('perf');
    await subscription(topic, 'perf-sub');
    const consuming = () =>
      magnetar([
        'perf',
        'consume',
        topic,
        '-s',
        url,
        '--num-messages',
        '300',
        '--duration-s',
        '30',
        '--json',
      ]);
    const p = await magnetar([
      'perf',
      'produce',
      topic,
      '-s',
      url,
      '--rate',
      '200',
      '--num-messages',
      '300',
      '--size',
      '100',
      '--json',
    ]);
    expect(p.code).toBe(0);
    const ps = JSON.parse(p.stdout.trim()) as Record<string, unknown> & { latencyMs: Record<string, number> };
    expect(ps.messages).toBe(300);
    expect(ps.errors).toBe(0);
    expect(ps.latencyMs.count).toBe(300);
    expect(ps.latencyMs.p50).toBeGreaterThan(0);
    expect(ps.latencyMs.max).toBeGreaterThanOrEqual(ps.latencyMs.p999);
    const c = await consuming();
    expect(c.code).toBe(0);
    const cs = JSON.parse(c.stdout.trim()) as { messages: number; mbPerS: number };
    expect(cs.messages).toBe(300);
  });

  it('perf e2e prints a live line every second and reports end-to-end latency', async () => {
    const r = await magnetar([
      'perf',
      'e2e',
      uniqueTopic('e2e'),
      '-s',
      url,
      '--rate',
      '300',
      '--duration-s',
      '3',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /\[\s+1\.\d s\] publish .* msg\/s .* MB\/s \| latency p50 .* p95 .* p99 .* p99\.9 .* max .* ms \| consumed/,
    );
    expect(r.stdout).toMatch(/^e2e: /m);
    expect(r.stdout).toContain('e2eLatencyMs p50');
  });
});
