/**
 * startStandalone: one bookie, one broker and the coordinator in this process, over one embedded
 * metadata store (`file://<dataDir>/metadata`), with the cluster, tenant `public` and namespace
 * `public/default` made on first start. Every topic is stored with E = Qw = Qa = 1 on the single
 * bookie, whose journal fsyncs before a producer gets its receipt, so an acknowledged message
 * survives any crash. `close()` stops everything in reverse order.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { type AuthConfig, authConfigSpec } from '../../lib/auth/config.ts';
import { AuthenticationService, AuthorizationService } from '../../lib/auth/index.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { createLogger, type Logger } from '../../lib/log/index.ts';
import { openMetadataStore } from '../../lib/metadata/index.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { createMetrics } from '../../lib/metrics/index.ts';
import { PolicyStoreProvider } from '../../lib/policies/broker-provider.ts';
import { type PolicyDefaults, policyDefaultsSpec } from '../../lib/policies/defaults.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import { type BookieHandle, startBookie } from '../bookie/bookie.ts';
import { loadBookieConfig } from '../bookie/config.ts';
import { adminHttpServer } from '../broker/admin/http-server.ts';
import { type Broker, startBroker } from '../broker/broker.ts';
import { clusterWiring } from '../broker/cluster-wiring.ts';
import { type BrokerConfig, loadBrokerConfig } from '../broker/config.ts';
import { openStorage, type Storage } from '../broker/storage.ts';
import { coordinatorConfigSpec } from '../coordinator/config.ts';
import { type Coordinator, startCoordinator } from '../coordinator/coordinator.ts';
import { ensureDefaults } from './bootstrap.ts';
import type { StandaloneConfig } from './config.ts';

export interface Standalone {
  readonly serviceUrl: string;
  readonly adminUrl: string;
  readonly dataDir: string;
  readonly broker: Broker;
  readonly bookie: BookieHandle;
  /** What the first start created (empty on a restart). */
  readonly created: readonly string[];
  close(): Promise<void>;
}

export interface StandaloneOptions {
  readonly logger?: Logger;
}

function pick<T>(config: BrokerConfig, spec: Record<string, unknown>): T {
  return Object.fromEntries(Object.keys(spec).map((k) => [k, (config as Record<string, unknown>)[k]])) as T;
}

/** The logger standalone uses: JSON lines to a file under dataDir (default) or stdout. */
export function standaloneLogger(cfg: StandaloneConfig): { log: Logger; path: string } {
  const dataDir = resolve(cfg.dataDir);
  if (cfg.logFile === '-')
    return {
      log: createLogger({ service: 'standalone', node: 'standalone', level: cfg.logLevel }),
      path: '-',
    };
  const path = cfg.logFile !== '' ? resolve(cfg.logFile) : resolve(dataDir, 'logs', 'standalone.log');
  mkdirSync(resolve(path, '..'), { recursive: true });
  const destination = pino.destination({ dest: path, mkdir: true, sync: false });
  return {
    log: createLogger({ service: 'standalone', node: 'standalone', level: cfg.logLevel, destination }),
    path,
  };
}

export async function startStandalone(
  cfg: StandaloneConfig,
  opts: StandaloneOptions = {},
): Promise<Standalone> {
  const dataDir = resolve(cfg.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const log = opts.logger ?? standaloneLogger(cfg).log;
  const metadataUrl = `file://${resolve(dataDir, 'metadata')}`;
  // Stopped in this order whatever order they started in: nothing may lose the storage under it.
  const closeOrder = ['coordinator', 'broker', 'storage', 'policies', 'bookie', 'metadata'] as const;
  const closers = new Map<(typeof closeOrder)[number], () => Promise<unknown>>();
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  const mark = (phase: string) => {
    phases[phase] = Math.round(performance.now() - t0);
  };
  const closeAll = async () => {
    for (const name of closeOrder) {
      const close = closers.get(name);
      if (!close) continue;
      closers.delete(name);
      await close().catch((err: unknown) => log.warn({ err, part: name }, 'close failed'));
    }
  };
  try {
    const store: MetadataStore = await openMetadataStore(metadataUrl, {
      logger: log.child({ component: 'metadata' }),
    });
    closers.set('metadata', () => store.close());
    mark('metadata');
    const brokerConfig = loadBrokerConfig({
      argv: cfg.brokerConfig !== '' ? ['--config', cfg.brokerConfig] : [],
      env: {},
      overrides: {
        clusterName: cfg.clusterName,
        bindAddress: cfg.bindAddress,
        advertisedAddress: cfg.advertisedAddress,
        brokerServicePort: cfg.brokerServicePort,
        webServicePort: cfg.webServicePort,
        metadataUrl,
        managedLedgerDefaultEnsembleSize: 1,
        managedLedgerDefaultWriteQuorum: 1,
        managedLedgerDefaultAckQuorum: 1,
        defaultEnsembleSize: 1,
        defaultWriteQuorum: 1,
        defaultAckQuorum: 1,
      },
    });
    const bookieConfig = loadBookieConfig({
      env: {},
      overrides: {
        bookieId: 'standalone-bookie',
        clusterName: cfg.clusterName,
        bindHost: cfg.bindAddress,
        advertisedHost: cfg.bindAddress === '0.0.0.0' ? cfg.advertisedAddress : cfg.bindAddress,
        grpcPort: cfg.bookieGrpcPort,
        httpPort: cfg.bookieHttpPort,
        journalDir: resolve(dataDir, 'bookie', 'journal'),
        ledgerDir: resolve(dataDir, 'bookie', 'ledgers'),
        metadataUrl,
        journalFileBytes: cfg.journalFileBytes,
        logLevel: cfg.logLevel,
      },
    });
    const policyStore = new PolicyStore(store, {
      cluster: cfg.clusterName,
      defaults: pick<PolicyDefaults>(brokerConfig, policyDefaultsSpec),
      onWatchError: (err) => log.warn({ err }, 'policy watch error'),
    });
    const serviceUrl = `pulsar://${cfg.advertisedAddress}:${cfg.brokerServicePort}`;
    const adminUrl = `http://${cfg.advertisedAddress}:${cfg.webServicePort}`;
    // The bookie (journal replay), the broker and the coordinator start side by side: the broker
    // only needs the bookie when the first persistent topic is opened, and "ready" waits for all.
    const bookieStart = startBookie(bookieConfig, {
      metadataStore: store,
      logger: log.child({ component: 'bookie' }),
      processMetrics: false,
    }).then((b) => {
      closers.set('bookie', () => b.close());
      mark('bookie');
      return b;
    });
    const brokerStart = (async () => {
      await policyStore.start();
      closers.set('policies', () => policyStore.close());
      const made = await ensureDefaults(policyStore, {
        cluster: cfg.clusterName,
        serviceUrl: adminUrl,
        brokerServiceUrl: serviceUrl,
      });
      const brokerLog = log.child({ component: 'broker' });
      const storage: Storage = await openStorage(brokerConfig, store, brokerLog);
      closers.set('storage', () => storage.close());
      const auth = pick<AuthConfig>(brokerConfig, authConfigSpec);
      const authn = new AuthenticationService(auth);
      const authz = new AuthorizationService(auth, policyStore);
      const metrics = createMetrics('broker', 'standalone');
      // The same cluster wiring as a broker process: the in-process coordinator assigns bundles,
      // the broker claims them, and the admin API reads bundles and owners from lib/cluster.
      const cluster = brokerConfig.clusterOwnership
        ? clusterWiring({ config: brokerConfig, store, policyStore, log: brokerLog, metrics })
        : undefined;
      const started = await startBroker(brokerConfig, {
        logger: brokerLog,
        metrics,
        metadataStore: store,
        managedLedgers: storage.managedLedgers,
        policies: new PolicyStoreProvider(policyStore),
        authenticator: auth.authenticationEnabled ? authn.roleAuthenticator() : undefined,
        authorizer: authz.enabled ? authz.brokerAuthorizer() : undefined,
        ownership: cluster?.ownership,
        httpServer: adminHttpServer({ policies: policyStore, authn, authz, ...cluster?.admin }),
      });
      closers.set('broker', () => started.close());
      mark('broker');
      return { broker: started, created: made };
    })();
    const coordinatorStart = startCoordinator(
      loadConfig('coordinator', coordinatorConfigSpec, {
        env: {},
        overrides: {
          cluster: cfg.clusterName,
          metadataUrl,
          httpHost: cfg.bindAddress,
          httpPort: cfg.coordinatorHttpPort,
          coordinatorId: 'standalone',
          sheddingEnabled: false,
          splitEnabled: false,
        },
      }),
      {
        store,
        log: log.child({ component: 'coordinator' }),
        metrics: createMetrics('coordinator', 'standalone', false),
      },
    ).then((c: Coordinator) => {
      closers.set('coordinator', () => c.close());
      mark('coordinator');
      return c;
    });
    const [bookie, { broker, created }] = await allOrFirstError([
      bookieStart,
      brokerStart,
      coordinatorStart,
    ] as const);
    const realService = `pulsar://${cfg.advertisedAddress}:${broker.brokerServicePort}`;
    const realAdmin = `http://${cfg.advertisedAddress}:${broker.webServicePort}`;
    log.info(
      { serviceUrl: realService, adminUrl: realAdmin, dataDir, created, phasesMs: phases },
      'standalone ready',
    );
    return {
      serviceUrl: realService,
      adminUrl: realAdmin,
      dataDir,
      broker,
      bookie,
      created,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Like Promise.all, but waits for every promise to settle so nothing is left half-started. */
async function allOrFirstError<T extends readonly Promise<unknown>[]>(
  promises: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as never;
}
