/**
 * `magnetar cluster up`: a local multi-process cluster for development — a real etcd (the local
 * binary), N bookies, M brokers and C coordinators, each its own process with a log under
 * `<dir>/logs`, data under `<dir>`, and the state in `<dir>/cluster.json`. The cluster, tenant
 * `public` and namespace `public/default` are created through the first broker's admin API.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../common.ts';
import { freePort, spawnDetached, stopGroup, waitForHttp, waitForLog } from './spawn.ts';
import { alive, type ClusterProcess, type ClusterState, readState, writeState } from './state.ts';

export interface UpFlags {
  dir: string;
  cluster: string;
  bookies: number;
  brokers: number;
  coordinators: number;
  etcdPort: number;
  bookiePort: number;
  brokerPort: number;
  webPort: number;
  coordinatorPort: number;
  portOffset: number;
  autoPorts?: boolean;
  etcdBin: string;
  readyTimeoutMs: number;
  json?: boolean;
}

const root = fileURLToPath(new URL('../../../', import.meta.url));
const SERVICES = {
  bookie: join(root, 'services/bookie/main.ts'),
  broker: join(root, 'services/broker/main.ts'),
  coordinator: join(root, 'services/coordinator/main.ts'),
};

/** Ports for the i-th process of a kind: base + offset + i, or free ones with --auto-ports. */
async function port(flags: UpFlags, base: number, i: number): Promise<number> {
  return flags.autoPorts ? freePort() : base + flags.portOffset + i;
}

function flagsToArgs(flags: Record<string, string | number>): string[] {
  return Object.entries(flags).flatMap(([k, v]) => [
    `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    String(v),
  ]);
}

export async function clusterUp(flags: UpFlags): Promise<ClusterState> {
  for (const [name, n, min] of [
    ['bookies', flags.bookies, 1],
    ['brokers', flags.brokers, 1],
    ['coordinators', flags.coordinators, 0],
  ] as const) {
    if (!Number.isInteger(n) || n < min || n > 16) throw new UsageError(`--${name} must be ${min}..16`);
  }
  const dir = resolve(flags.dir);
  const previous = readState(dir);
  if (previous?.processes.some((p) => alive(p.pid))) {
    throw new UsageError(
      `a cluster is already running from ${dir}; run "magnetar cluster down --dir ${flags.dir}" first`,
    );
  }
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const started: ClusterProcess[] = [];
  const state = (): ClusterState => ({
    cluster: flags.cluster,
    dir,
    startedAt: new Date().toISOString(),
    metadataUrl,
    serviceUrl: started
      .filter((p) => p.kind === 'broker')
      .map((p) => `pulsar://127.0.0.1:${p.ports.service}`)
      .join(','),
    adminUrl: `http://127.0.0.1:${started.find((p) => p.kind === 'broker')?.ports.web ?? 0}`,
    processes: started,
  });
  const node = process.execPath;
  const etcdClient = await port(flags, flags.etcdPort, 0);
  const etcdPeer = flags.autoPorts ? await freePort() : etcdClient + 1;
  const metadataUrl = `etcd://127.0.0.1:${etcdClient}/magnetar`;
  try {
    // etcd
    const etcdLog = join(logs, 'etcd.log');
    const client = `http://127.0.0.1:${etcdClient}`;
    const peer = `http://127.0.0.1:${etcdPeer}`;
    const etcdPid = spawnDetached(
      flags.etcdBin,
      [
        ...['--name', 'magnetar-etcd', '--data-dir', join(dir, 'etcd')],
        ...['--listen-client-urls', client, '--advertise-client-urls', client],
        ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer],
        ...['--initial-cluster', `magnetar-etcd=${peer}`, '--log-level', 'warn', '--logger', 'zap'],
      ],
      etcdLog,
    );
    started.push({
      name: 'etcd',
      kind: 'etcd',
      pid: etcdPid,
      log: etcdLog,
      healthUrl: `${client}/health`,
      ports: { client: etcdClient, peer: etcdPeer },
    });
    writeState(state());
    await waitForHttp('etcd', etcdPid, `${client}/health`, flags.readyTimeoutMs, etcdLog);

    // bookies, then brokers and coordinators (all in parallel within a kind)
    const e = Math.min(flags.bookies, 3);
    const q = Math.min(flags.bookies, 2);
    const launch = async (kind: 'bookie' | 'broker' | 'coordinator', i: number) => {
      const name = `${kind}-${i}`;
      const log = join(logs, `${name}.log`);
      let args: Record<string, string | number>;
      let ports: Record<string, number>;
      let health: string;
      let ready: RegExp;
      if (kind === 'bookie') {
        ports = { grpc: await port(flags, flags.bookiePort, i), http: await port(flags, 8000, i) };
        args = {
          bookieId: name,
          clusterName: flags.cluster,
          metadataUrl,
          bindHost: '127.0.0.1',
          advertisedHost: '127.0.0.1',
          grpcPort: ports.grpc,
          httpPort: ports.http,
          journalDir: join(dir, name, 'journal'),
          ledgerDir: join(dir, name, 'ledgers'),
          journalFileBytes: 16 * 1024 * 1024,
        };
        health = `http://127.0.0.1:${ports.http}/health`;
        ready = /"msg":"bookie ready"/;
      } else if (kind === 'broker') {
        ports = { service: await port(flags, flags.brokerPort, i), web: await port(flags, flags.webPort, i) };
        args = {
          brokerId: name,
          clusterName: flags.cluster,
          metadataUrl,
          bindAddress: '127.0.0.1',
          advertisedAddress: '127.0.0.1',
          brokerServicePort: ports.service,
          webServicePort: ports.web,
          managedLedgerDefaultEnsembleSize: e,
          managedLedgerDefaultWriteQuorum: q,
          managedLedgerDefaultAckQuorum: q,
          defaultEnsembleSize: e,
          defaultWriteQuorum: q,
          defaultAckQuorum: q,
        };
        health = `http://127.0.0.1:${ports.web}/health`;
        ready = /"msg":"broker ready"/;
      } else {
        ports = { http: await port(flags, flags.coordinatorPort, i) };
        args = {
          cluster: flags.cluster,
          metadataUrl,
          httpHost: '127.0.0.1',
          httpPort: ports.http,
          coordinatorId: name,
        };
        health = `http://127.0.0.1:${ports.http}/health`;
        ready = /"msg":"coordinator started"/;
      }
      const pid = spawnDetached(node, [SERVICES[kind], ...flagsToArgs(args)], log, {
        MAGNETAR_LOG_LEVEL: 'info',
      });
      started.push({ name, kind, pid, log, healthUrl: health, ports });
      writeState(state());
      await waitForLog(name, pid, log, ready, flags.readyTimeoutMs);
    };
    await Promise.all(Array.from({ length: flags.bookies }, (_, i) => launch('bookie', i)));
    await Promise.all(Array.from({ length: flags.brokers }, (_, i) => launch('broker', i)));
    await Promise.all(Array.from({ length: flags.coordinators }, (_, i) => launch('coordinator', i)));
    const s = state();
    await bootstrapNamespace(s);
    writeState(s);
    return s;
  } catch (err) {
    // Leave nothing half-started behind.
    for (const p of [...started].reverse()) await stopGroup(p.pid, 5000);
    writeState(state());
    throw err;
  }
}

/** Cluster, tenant public and namespace public/default through the admin REST API (409 = exists). */
async function bootstrapNamespace(s: ClusterState): Promise<void> {
  const put = async (path: string, body: unknown) => {
    const res = await fetch(`${s.adminUrl}/admin/v2/${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok && res.status !== 409) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
  };
  const brokerServiceUrl = s.serviceUrl.split(',')[0];
  await put(`clusters/${s.cluster}`, { serviceUrl: s.adminUrl, brokerServiceUrl });
  await put('tenants/public', { adminRoles: [], allowedClusters: [s.cluster] });
  await put('namespaces/public/default', {});
}
