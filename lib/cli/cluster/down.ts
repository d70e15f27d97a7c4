/** `magnetar cluster down`: stop every process `cluster up` started (coordinators first, etcd last). */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../common.ts';
import { stopGroup } from './spawn.ts';
import { type ClusterState, type ProcessKind, readState, writeState } from './state.ts';

const ORDER: ProcessKind[] = ['coordinator', 'broker', 'bookie', 'etcd'];

export interface DownResult {
  readonly name: string;
  readonly pid: number;
  readonly result: 'stopped' | 'killed' | 'not-running';
}

export async function clusterDown(dirFlag: string, graceMs: number, purge: boolean): Promise<DownResult[]> {
  const dir = resolve(dirFlag);
  const state: ClusterState | undefined = readState(dir);
  if (!state) throw new UsageError(`no cluster state in ${dir} (nothing was started there)`);
  const out: DownResult[] = [];
  for (const kind of ORDER) {
    const group = state.processes.filter((p) => p.kind === kind);
    const results = await Promise.all(
      group.map(async (p) => ({ name: p.name, pid: p.pid, result: await stopGroup(p.pid, graceMs) })),
    );
    out.push(...results);
  }
  writeState(state);
  if (purge) rmSync(dir, { recursive: true, force: true });
  return out;
}
