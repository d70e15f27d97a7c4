/** `magnetar cluster status`: each process with its pid, whether it runs, its health and ports. */
import { resolve } from 'node:path';
import { UsageError } from '../common.ts';
import { httpOk } from './spawn.ts';
import { alive, readState } from './state.ts';

export interface ProcessStatus {
  readonly name: string;
  readonly pid: number;
  readonly running: boolean;
  readonly healthy: boolean;
  readonly ports: Readonly<Record<string, number>>;
  readonly log: string;
}

export interface ClusterStatus {
  readonly dir: string;
  readonly cluster: string;
  readonly serviceUrl: string;
  readonly adminUrl: string;
  readonly processes: ProcessStatus[];
}

export async function clusterStatus(dirFlag: string): Promise<ClusterStatus> {
  const dir = resolve(dirFlag);
  const state = readState(dir);
  if (!state) throw new UsageError(`no cluster state in ${dir} (nothing was started there)`);
  const processes = await Promise.all(
    state.processes.map(async (p) => {
      const running = alive(p.pid);
      return {
        name: p.name,
        pid: p.pid,
        running,
        healthy: running && (await httpOk(p.healthUrl)),
        ports: p.ports,
        log: p.log,
      };
    }),
  );
  return { dir, cluster: state.cluster, serviceUrl: state.serviceUrl, adminUrl: state.adminUrl, processes };
}

export function statusTable(s: ClusterStatus): string {
  const rows = s.processes.map((p) => [
    p.name,
    String(p.pid),
    p.running ? 'running' : 'stopped',
    p.running ? (p.healthy ? 'healthy' : 'unhealthy') : '-',
    Object.entries(p.ports)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
  ]);
  const head = ['NAME', 'PID', 'STATE', 'HEALTH', 'PORTS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [
    `cluster ${s.cluster} (${s.dir})`,
    `service URL ${s.serviceUrl}`,
    `admin URL   ${s.adminUrl}`,
    '',
    line(head),
    ...rows.map(line),
  ].join('\n');
}
