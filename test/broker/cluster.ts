/**
 * Real storage for broker integration tests: bookie processes registered in the shared etcd
 * (test/ledger/real-cluster.ts), brokers either in-process (startBroker with real managed
 * ledgers) or as real processes (services/broker/main.ts), and the public/default namespace
 * created the way the admin API does.
 */
import { join } from 'node:path';
import { silentLogger } from '../../lib/log/index.ts';
import { openMetadataStore } from '../../lib/metadata/index.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { createMetrics } from '../../lib/metrics/index.ts';
import { builtinPolicyDefaults } from '../../lib/policies/defaults.ts';
import { createNamespace } from '../../lib/policies/namespaces.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import { type Broker, type BrokerDeps, startBroker } from '../../services/broker/broker.ts';
import { loadBrokerConfig } from '../../services/broker/config.ts';
import { ConfigPolicies } from '../../services/broker/policies.ts';
import { openStorage } from '../../services/broker/storage.ts';
import { type ServiceProcess, spawnProcess, uniquePrefix } from '../harness/index.ts';
import { type RealCluster, startRealCluster } from '../ledger/real-cluster.ts';

const BROKER_MAIN = join(import.meta.dirname, '../../services/broker/main.ts');

export interface StorageCluster {
  readonly rc: RealCluster;
  readonly store: MetadataStore;
  /** Broker flags pointing at this cluster, with E/Qw/Qa fitting the bookie count. */
  readonly brokerFlags: Record<string, unknown>;
  stop(): Promise<void>;
}

export async function startStorageCluster(
  etcdEndpoint: string,
  bookies: number,
  quorum = Math.min(bookies, 2),
): Promise<StorageCluster> {
  const rc = await startRealCluster({ etcdEndpoint, prefix: uniquePrefix('broker'), bookies });
  const store = await rc.openStore();
  const policyStore = new PolicyStore(store, { cluster: rc.cluster, defaults: builtinPolicyDefaults() });
  await policyStore.start();
  await policyStore.createCluster(rc.cluster, {});
  await policyStore.createTenant('public', { adminRoles: [], allowedClusters: [rc.cluster] });
  await createNamespace(policyStore, { tenant: 'public', namespace: 'default' });
  await policyStore.close();
  const e = Math.min(bookies, Math.max(quorum, 1));
  return {
    rc,
    store,
    brokerFlags: {
      metadataUrl: rc.metadataUrl,
      clusterName: rc.cluster,
      managedLedgerDefaultEnsembleSize: e,
      managedLedgerDefaultWriteQuorum: quorum,
      managedLedgerDefaultAckQuorum: quorum,
    },
    async stop() {
      await store.close();
      await rc.stop();
    },
  };
}

/** A broker in this process with real managed ledgers on the cluster's bookies. */
export async function startStorageBroker(
  sc: StorageCluster,
  overrides: Record<string, unknown> = {},
  deps: Partial<BrokerDeps> = {},
): Promise<Broker & { storageClose(): Promise<void> }> {
  const config = loadBrokerConfig({
    overrides: {
      bindAddress: '127.0.0.1',
      brokerServicePort: 0,
      webServicePort: 0,
      ...sc.brokerFlags,
      ...overrides,
    },
  });
  const log = silentLogger('broker');
  const store = await openMetadataStore(sc.rc.metadataUrl);
  const storage = await openStorage(config, store, log);
  const broker = await startBroker(config, {
    logger: log,
    metrics: createMetrics('broker', 'test', false),
    metadataStore: store,
    managedLedgers: storage.managedLedgers,
    policies: new ConfigPolicies(config, store),
    ...deps,
  });
  return Object.assign(broker, {
    async storageClose() {
      await broker.close();
      await storage.close();
      await store.close();
    },
  });
}

export interface BrokerProcess {
  readonly proc: ServiceProcess;
  readonly port: number;
  readonly webPort: number;
  readonly url: string;
}

/** A real broker process (main.ts) on the cluster. */
export async function spawnBroker(
  sc: StorageCluster,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<BrokerProcess> {
  const flags = {
    ...sc.brokerFlags,
    bindAddress: '127.0.0.1',
    brokerServicePort: 0,
    webServicePort: 0,
    ...extra,
  };
  const args = [BROKER_MAIN];
  for (const [k, v] of Object.entries(flags))
    args.push(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(v));
  const proc = spawnProcess({ name, args, env: { MAGNETAR_LOG_LEVEL: 'info' } });
  const line = await proc.waitForOutput(/"msg":"broker ready"/, 60_000);
  const ready = JSON.parse(line) as {
    brokerServicePort: number;
    webServicePort: number;
    brokerServiceUrl: string;
  };
  return { proc, port: ready.brokerServicePort, webPort: ready.webServicePort, url: ready.brokerServiceUrl };
}
