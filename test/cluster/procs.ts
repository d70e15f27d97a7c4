/** Real processes for the cluster tests: coordinators (services/coordinator/main.ts) and broker agents. */
import { fileURLToPath } from 'node:url';
import { freePort, type ServiceProcess, spawnProcess } from '../harness/index.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface CoordinatorProc {
  readonly id: string;
  readonly port: number;
  readonly proc: ServiceProcess;
  status(): Promise<Record<string, any>>;
}

export async function startCoordinatorProc(
  endpoint: string,
  prefix: string,
  cluster: string,
  id: string,
  flags: Record<string, string | number | boolean> = {},
): Promise<CoordinatorProc> {
  const port = await freePort();
  const args = [
    `${root}services/coordinator/main.ts`,
    '--metadata-url',
    `etcd://${endpoint}${prefix}`,
    '--cluster',
    cluster,
    '--coordinator-id',
    id,
    '--http-host',
    '127.0.0.1',
    '--http-port',
    String(port),
    '--session-ttl-ms',
    '2000',
    '--assign-interval-ms',
    '200',
    ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, String(v)]),
  ];
  const proc = spawnProcess({ name: `coordinator-${id}`, args, cwd: root });
  await proc.waitForOutput(/coordinator started/, 30_000);
  return { id, port, proc, status: () => getJson(`http://127.0.0.1:${port}/status`) };
}

export interface AgentProc {
  readonly id: string;
  readonly port: number;
  readonly proc: ServiceProcess;
  get(path: string): Promise<Record<string, any>>;
  /** Unload events printed so far. */
  unloads(): { bundle: string; reason: string }[];
}

export async function startAgent(
  endpoint: string,
  prefix: string,
  cluster: string,
  id: string,
  config: Record<string, unknown> = {},
): Promise<AgentProc> {
  const port = await freePort();
  const proc = spawnProcess({
    name: `agent-${id}`,
    args: [
      `${root}test/cluster/broker-agent.ts`,
      endpoint,
      prefix,
      cluster,
      id,
      String(port),
      JSON.stringify({ sessionTtlMs: 2000, loadReportIntervalMs: 300, ...config }),
    ],
    cwd: root,
  });
  await proc.waitForOutput(/"event":"ready"/, 30_000);
  return {
    id,
    port,
    proc,
    get: (path) => getJson(`http://127.0.0.1:${port}${path}`),
    unloads: () =>
      proc
        .logs()
        .split('\n')
        .filter((l) => l.includes('"event":"unload"'))
        .map((l) => JSON.parse(l) as { bundle: string; reason: string }),
  };
}

export async function getJson(url: string): Promise<Record<string, any>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(20_000) });
  return (await res.json()) as Record<string, any>;
}

/** GET that never throws (a process being killed answers nothing). */
export async function tryJson(url: string): Promise<Record<string, any> | undefined> {
  try {
    return await getJson(url);
  } catch {
    return undefined;
  }
}
