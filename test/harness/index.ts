/** Shared test harness: real etcd, real service processes, free ports, temp dirs. */
import { randomUUID } from 'node:crypto';

export { type EtcdInstance, startEtcd, startLocalEtcd } from './etcd.ts';
export { freePort, freePorts } from './ports.ts';
export { liveProcesses, type ServiceProcess, spawnProcess, stopAll } from './processes.ts';
export { removeTempDirs, tempDir } from './tmp.ts';

/** A key prefix no other test uses, e.g. `/t-3f2a.../`, so tests can share one etcd. */
export function uniquePrefix(tag = 't'): string {
  return `/${tag}-${randomUUID().slice(0, 8)}`;
}
