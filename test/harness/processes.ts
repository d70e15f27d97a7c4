/**
 * Start, signal and clean up real service processes in tests. Every child runs in its own process
 * group and is tracked, so `stopAll()` (called from test hooks and on exit) kills each one, also
 * when a test fails. Output goes to a log file per process (its path is in failures' messages).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.ts';

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  /** Resolves with the exit code/signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Wait until a line of output matches (or throw after timeoutMs, quoting the log). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Send a signal; SIGKILL kills the whole process group. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  logs(): string;
}

const live = new Set<ServiceProcess>();
let exitHooked = false;

export interface SpawnOptions {
  name: string;
  /** Executable; defaults to this Node (the pinned one). */
  command?: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  logDir?: string;
}

export function spawnProcess(opts: SpawnOptions): ServiceProcess {
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const p of live) killGroup(p.child, 'SIGKILL');
    });
  }
  const logPath = join(opts.logDir ?? tempDir('logs-'), `${opts.name}.log`);
  const log: WriteStream = createWriteStream(logPath);
  const child = spawn(opts.command ?? process.execPath, opts.args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let buffered = '';
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    buffered += chunk.toString('utf8');
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      for (const w of waiters) {
        if (w.pattern.test(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
      nl = buffered.indexOf('\n');
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(proc);
      log.end();
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      live.delete(proc);
      log.end(`spawn error: ${err.message}\n`);
      resolve({ code: -1, signal: null });
    });
  });
  const proc: ServiceProcess = {
    name: opts.name,
    child,
    logPath,
    exited,
    logs: () => {
      try {
        return readFileSync(logPath, 'utf8');
      } catch {
        return '';
      }
    },
    waitForOutput(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const w = { pattern, resolve: (l: string) => (clearTimeout(t), resolve(l)) };
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(
            new Error(
              `${opts.name}: no output matching ${pattern} within ${timeoutMs} ms; log ${logPath}:\n${tail(proc.logs())}`,
            ),
          );
        }, timeoutMs);
        waiters.add(w);
        void exited.then(({ code, signal }) => {
          if (waiters.delete(w)) {
            clearTimeout(t);
            reject(
              new Error(
                `${opts.name} exited (${code ?? signal}) before output matching ${pattern}:\n${tail(proc.logs())}`,
              ),
            );
          }
        });
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child, signal);
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(proc);
  return proc;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** Kill every process this test process started (SIGKILL) and wait for them. */
export async function stopAll(): Promise<void> {
  const all = [...live];
  await Promise.all(all.map((p) => p.kill('SIGKILL')));
}

export function liveProcesses(): readonly ServiceProcess[] {
  return [...live];
}
