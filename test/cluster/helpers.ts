/** Shared helpers of the cluster-control integration tests (real etcd, isolated by prefix). */
import { inject } from 'vitest';
import { type ClusterConfig, clusterConfigSpec } from '../../lib/cluster/config.ts';
import { OwnershipService, type OwnershipServiceOptions } from '../../lib/cluster/ownership-service.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { silentLogger } from '../../lib/log/index.ts';
import { type EtcdMetadataStore, openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import { uniquePrefix } from '../harness/index.ts';

export const CLUSTER = 'test-cluster';

export async function openStore(
  rootPrefix: string,
  endpoint = inject('etcdEndpoint'),
): Promise<EtcdMetadataStore> {
  return openEtcdStore({ hosts: [endpoint], rootPrefix, logger: silentLogger() });
}

export function newPrefix(): string {
  return uniquePrefix('cl');
}

export function clusterConfig(overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return loadConfig('broker', clusterConfigSpec, {
    overrides: { sessionTtlMs: 2000, loadReportIntervalMs: 500, lookupWaitForOwnerMs: 3000, ...overrides },
  });
}

export async function startBroker(
  store: EtcdMetadataStore,
  id: string,
  extra: Partial<Omit<OwnershipServiceOptions, 'config'>> & { config?: Partial<ClusterConfig> } = {},
): Promise<OwnershipService> {
  const port = 6650 + Math.floor(Math.random() * 1000);
  return OwnershipService.start({
    store,
    cluster: CLUSTER,
    brokerId: id,
    addresses: { serviceUrl: `pulsar://${id}:${port}`, httpUrl: `http://${id}:${port + 1}` },
    log: silentLogger(),
    ...extra,
    config: clusterConfig(extra.config),
  });
}

/** Poll until `cond` holds; fails only if it never does within a generous bound (no timing assertions). */
export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
