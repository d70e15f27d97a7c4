/**
 * The local cluster's state file (`<dir>/cluster.json`): what `cluster up` started (pid, ports,
 * log, health URL per process) so that `down` and `status` can find them later.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type ProcessKind = 'etcd' | 'bookie' | 'broker' | 'coordinator';

export interface ClusterProcess {
  readonly name: string;
  readonly kind: ProcessKind;
  readonly pid: number;
  readonly log: string;
  /** HTTP URL answering 200 while the process is healthy. */
  readonly healthUrl: string;
  readonly ports: Readonly<Record<string, number>>;
}

export interface ClusterState {
  readonly cluster: string;
  readonly dir: string;
  readonly startedAt: string;
  readonly metadataUrl: string;
  readonly serviceUrl: string;
  readonly adminUrl: string;
  readonly processes: ClusterProcess[];
}

export function statePath(dir: string): string {
  return join(dir, 'cluster.json');
}

export function readState(dir: string): ClusterState | undefined {
  const path = statePath(dir);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as ClusterState;
}

export function writeState(state: ClusterState): void {
  const path = statePath(state.dir);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** True when a process with this pid exists (signal 0 probes without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
