/**
 * Starting cluster processes detached from the command (they outlive `cluster up`), each in its
 * own process group with stdout+stderr appended to its log file, and waiting for readiness by
 * watching the log (or an HTTP health URL), bounded, failing with the log's tail.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { alive } from './state.ts';

export function spawnDetached(
  command: string,
  args: string[],
  log: string,
  env: Record<string, string> = {},
): number {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...env },
    });
    if (child.pid === undefined) throw new Error(`cannot start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function tail(log: string, lines = 20): string {
  if (!existsSync(log)) return '(no log)';
  return readFileSync(log, 'utf8').split('\n').slice(-lines).join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until the log has a line matching `pattern` (after `fromByte`), or fail. */
export async function waitForLog(
  name: string,
  pid: number,
  log: string,
  pattern: RegExp,
  timeoutMs: number,
  fromByte = 0,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(log) ? readFileSync(log, 'utf8').slice(fromByte) : '';
    const line = text.split('\n').find((l) => pattern.test(l));
    if (line) return line;
    if (!alive(pid)) throw new Error(`${name} exited before it was ready; ${log}:\n${tail(log)}`);
    if (Date.now() > deadline)
      throw new Error(`${name} not ready within ${timeoutMs} ms; ${log}:\n${tail(log)}`);
    await sleep(100);
  }
}

/** Wait until `url` answers 2xx, or fail. */
export async function waitForHttp(
  name: string,
  pid: number,
  url: string,
  timeoutMs: number,
  log: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await httpOk(url)) return;
    if (!alive(pid)) throw new Error(`${name} exited before it was ready; ${log}:\n${tail(log)}`);
    if (Date.now() > deadline)
      throw new Error(`${name} not ready within ${timeoutMs} ms; ${log}:\n${tail(log)}`);
    await sleep(100);
  }
}

export async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** Stop a process group: SIGTERM, then SIGKILL after graceMs. */
export async function stopGroup(pid: number, graceMs: number): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!alive(pid)) return 'not-running';
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return 'stopped';
    await sleep(100);
  }
  signal('SIGKILL');
  while (alive(pid)) await sleep(50);
  return 'killed';
}
