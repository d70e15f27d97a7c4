/**
 * A real etcd for tests: a container when a Docker engine answers, else the local `etcd` binary
 * (Debian's etcd-server, installed by bin/setup) on free loopback ports with its own data dir.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { containerRuntimeAvailable } from './container-runtime.ts';
import { freePort } from './ports.ts';
import { tempDir } from './tmp.ts';

export interface EtcdInstance {
  readonly endpoint: string;
  /** Stop and remove its data. */
  stop(): Promise<void>;
  /** Local binary only: pause (SIGSTOP) / resume (SIGCONT) to simulate an unreachable etcd. */
  pause?(): void;
  resume?(): void;
}

export interface LocalEtcdOptions {
  /** Keep using this data dir (restart tests). */
  dataDir?: string;
  clientPort?: number;
}

export async function startLocalEtcd(opts: LocalEtcdOptions = {}): Promise<EtcdInstance> {
  const dataDir = opts.dataDir ?? tempDir('etcd-');
  const clientPort = opts.clientPort ?? (await freePort());
  const peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child: ChildProcess = spawn(
    process.env.ETCD_BIN ?? 'etcd',
    [
      '--name',
      'n1',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `n1=${peer}`,
      '--initial-cluster-state',
      'new',
      '--logger',
      'zap',
      '--log-level',
      'error',
      '--heartbeat-interval',
      '10',
      '--election-timeout',
      '100',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (e) =>
      reject(new Error(`cannot start etcd (${e.message}); run bin/setup to install Debian's etcd-server`)),
    ),
  );
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* gone */
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  await Promise.race([waitHealthy(client, 15_000, () => stderr), spawnError]);
  return {
    endpoint: `127.0.0.1:${clientPort}`,
    async stop() {
      process.off('exit', onExit);
      killGroup('SIGCONT');
      killGroup('SIGTERM');
      const t = setTimeout(() => killGroup('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    pause: () => killGroup('SIGSTOP'),
    resume: () => killGroup('SIGCONT'),
  };
}

async function waitHealthy(url: string, timeoutMs: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`etcd at ${url} not healthy within ${timeoutMs} ms: ${stderr()}`);
}

/** etcd for a whole test run: a container if an engine answers, else the local binary. */
export async function startEtcd(): Promise<EtcdInstance> {
  if (await containerRuntimeAvailable()) {
    const { EtcdContainer } = await import('@testcontainers/etcd');
    const c = await new EtcdContainer('quay.io/coreos/etcd:v3.5.17').start();
    return {
      endpoint: c.getClientEndpoint().replace(/^https?:\/\//, ''),
      async stop() {
        await c.stop();
      },
    };
  }
  return startLocalEtcd();
}
