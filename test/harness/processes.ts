/**
 * Start, signal and clean up real service processes in tests. Every child runs in its own process
 * group and is tracked, so `stopAll()` (called from test hooks and on exit) kills each one, also
 * when a test fails. Output goes to a log file per process (its path is in failures' messages) and
 * to memory, so `logs()` always holds every line delivered so far, and all of it once `exited`
 * resolves (which waits for the child's stdout/stderr to drain, not just for the exit).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.ts';

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  /** Resolves with the exit code/signal once the process has exited and its output is read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Wait until a line of output matches (or throw after timeoutMs, quoting the log). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Send a signal; SIGKILL kills the whole process group. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  logs(): string;
}

const live = new Set<ServiceProcess>();
let exitHooked = false;

/** Output kept in memory per process; beyond this the oldest part is dropped (the file has it all). */
const MAX_LOG_MEMORY_CHARS = 32 * 1024 * 1024;
/** After the exit, how long stdout/stderr may stay open (a grandchild holding them) before we stop waiting. */
const STDIO_DRAIN_GRACE_MS = 2_000;

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
  log.on('error', () => undefined); // e.g. its temp dir removed at teardown: memory still has the output
  const child = spawn(opts.command ?? process.execPath, opts.args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let buffered = '';
  let output = '';
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    const text = chunk.toString('utf8');
    output += text;
    if (output.length > MAX_LOG_MEMORY_CHARS) output = output.slice(-MAX_LOG_MEMORY_CHARS / 2);
    buffered += text;
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
    let done = false;
    let grace: NodeJS.Timeout | undefined;
    const finish = (code: number | null, signal: NodeJS.Signals | null, note = '') => {
      if (done) return;
      done = true;
      clearTimeout(grace);
      live.delete(proc);
      output += note;
      // Resolve once the log file is flushed (or failed) too, so readers of logPath see everything.
      const settle = () => resolve({ code, signal });
      log.once('close', settle);
      if (log.destroyed) settle();
      else log.end(note, settle);
    };
    // 'exit' can come before the last output is read; 'close' comes once stdout/stderr are drained.
    child.once('exit', (code, signal) => {
      grace = setTimeout(() => finish(code, signal), STDIO_DRAIN_GRACE_MS);
    });
    child.once('close', (code, signal) => finish(code, signal));
    child.once('error', (err) => finish(-1, null, `spawn error: ${err.message}\n`));
  });
  const proc: ServiceProcess = {
    name: opts.name,
    child,
    logPath,
    exited,
    logs: () => output,
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
