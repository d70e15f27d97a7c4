/**
 * Broker process: `node services/broker/main.ts [--flags]` (flags, MAGNETAR_BROKER_* env, or
 * --config file; see README.md). With `--metadata-url` it serves namespace policies, partitioned
 * metadata and the admin API from the metadata store; persistent topics also need the ledger
 * client (bookies registered in the same store). Logs one "broker ready" line with the ports.
 */
import { AuthenticationService, AuthorizationService } from '../../lib/auth/index.ts';
import { authConfigSpec, type AuthConfig } from '../../lib/auth/config.ts';
import { createLogger } from '../../lib/log/index.ts';
import { applyServiceGcTuning } from '../../lib/util/gc-tuning.ts';
import { openMetadataStore } from '../../lib/metadata/index.ts';
import { createMetrics } from '../../lib/metrics/index.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { PolicyStoreProvider } from '../../lib/policies/broker-provider.ts';
import { type PolicyDefaults, policyDefaultsSpec } from '../../lib/policies/defaults.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import { adminHttpServer } from './admin/http-server.ts';
import { type BrokerDeps, startBroker } from './broker.ts';
import { type BrokerConfig, loadBrokerConfig } from './config.ts';
import { clusterWiring } from './cluster-wiring.ts';
import { openStorage } from './storage.ts';

// Set before anything allocates (see lib/util/gc-tuning.ts).
applyServiceGcTuning();

function pick<T>(config: BrokerConfig, spec: Record<string, unknown>): T {
  return Object.fromEntries(Object.keys(spec).map((k) => [k, (config as Record<string, unknown>)[k]])) as T;
}

async function main(): Promise<void> {
  const config = loadBrokerConfig({ argv: process.argv.slice(2), env: process.env });
  const node = config.brokerId || `broker-${process.pid}`;
  const log = createLogger({ service: 'broker', node });
  const metrics = createMetrics('broker', node);
  let store: MetadataStore | undefined;
  let policyStore: PolicyStore | undefined;
  const deps: { -readonly [K in keyof BrokerDeps]: BrokerDeps[K] } = { logger: log, metrics };
  const closers: (() => Promise<void>)[] = [];
  if (config.metadataUrl !== '') {
    store = await openMetadataStore(config.metadataUrl, { logger: log });
    closers.push(() => store!.close());
    const auth = pick<AuthConfig>(config, authConfigSpec);
    policyStore = new PolicyStore(store, {
      cluster: config.clusterName,
      defaults: pick<PolicyDefaults>(config, policyDefaultsSpec),
      onWatchError: (err) => log.warn({ err }, 'policy watch error'),
    });
    await policyStore.start();
    const ps = policyStore;
    closers.unshift(() => ps.close());
    const authn = new AuthenticationService(auth);
    deps.metadataStore = store;
    const policies = new PolicyStoreProvider(ps);
    deps.policies = policies;
    const authz = new AuthorizationService(auth, policyStore);
    // With cluster ownership the admin API's bundles, lookups, 307s and broker lists come from
    // lib/cluster; without it this broker serves every topic alone (the admin API's local hooks).
    const cluster = config.clusterOwnership
      ? clusterWiring({ config, store, policyStore: ps, log, metrics })
      : undefined;
    deps.httpServer = adminHttpServer({ policies: policyStore, authn, authz, ...cluster?.admin });
    if (auth.authenticationEnabled) deps.authenticator = authn.roleAuthenticator();
    if (authz.enabled) deps.authorizer = authz.brokerAuthorizer();
    if (cluster) deps.ownership = cluster.ownership;
    const storage = await openStorage(config, store, log);
    deps.managedLedgers = storage.managedLedgers;
    closers.unshift(() => storage.close());
  }
  const broker = await startBroker(config, deps);
  policyStore?.onChange((change) => {
    if (change.kind === 'namespace')
      void broker.policiesChanged({ namespace: `${change.tenant}/${change.namespace}` });
    else if (change.kind === 'topic-policies') void broker.policiesChanged({ topic: change.topic });
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'broker stopping');
    await broker.close();
    for (const close of closers) await close().catch((err: unknown) => log.warn({ err }, 'close failed'));
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`broker failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
