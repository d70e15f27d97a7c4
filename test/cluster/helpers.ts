/** Shared helpers of the cluster-control integration tests (real etcd, isolated by prefix). */
import { inject } from 'vitest';
import { PulsarClient } from '../../lib/client/index.ts';
import { findRange, topicHash } from '../../lib/cluster/bundle-range.ts';
import { type ClusterConfig, clusterConfigSpec } from '../../lib/cluster/config.ts';
import { OwnershipService, type OwnershipServiceOptions } from '../../lib/cluster/ownership-service.ts';
import { type BundleId, OwnershipStore } from '../../lib/cluster/ownership-store.ts';
import { ClusterView } from '../../lib/cluster/view.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { silentLogger } from '../../lib/log/index.ts';
import { type EtcdMetadataStore, openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
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

/** An independent, started view of the cluster's ownership records (to check who owns what). */
export async function startClusterView(
  store: MetadataStore,
  cluster: string,
  size: { maxBundles: number; maxBrokers: number } = { maxBundles: 1000, maxBrokers: 10 },
): Promise<ClusterView> {
  const view = new ClusterView(store, cluster, { ...size, resyncDelayMs: 200, log: silentLogger() });
  await view.start();
  return view;
}

/** The bundle of public/default that holds `topic`, from the stored boundaries. */
export async function defaultNamespaceBundle(
  store: MetadataStore,
  cluster: string,
  topic: string,
): Promise<BundleId> {
  const boundaries = (await new OwnershipStore(store, cluster).readBoundaries('public', 'default'))!.value;
  return { tenant: 'public', namespace: 'default', range: findRange(boundaries, topicHash(topic)) };
}

/** A client on every given broker (any one answers lookups), retrying quickly while topics move. */
export function brokersClient(brokers: readonly { port: number }[]): PulsarClient {
  return new PulsarClient({
    serviceUrl: `pulsar://${brokers.map((b) => `127.0.0.1:${b.port}`).join(',')}`,
    initialBackoffMs: 50,
    maxBackoffMs: 500,
    operationTimeoutMs: 30_000,
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
