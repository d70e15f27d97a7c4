/**
 * Broker assembly: `startBroker(config, deps)` wires the topic registry, the binary protocol
 * listener (6650), the HTTP server (8080: the admin API when `deps.httpServer` is given, else the
 * ops server with /health /ready /metrics) and returns a handle with the BrokerService.
 * main.ts runs it as a process; standalone mode calls it in-process.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { startOpsServer } from '../../lib/http/ops-server.ts';
import { createLogger, type Logger } from '../../lib/log/index.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { createMetrics, type Metrics } from '../../lib/metrics/index.ts';
import { type BrokerConfig, brokerIdOf } from './config.ts';
import type { ManagedLedgerFactory } from './managed-ledger/api.ts';
import { brokerErrors } from './errors.ts';
import { createBrokerMetrics } from './metrics.ts';
import {
  type BrokerLoad,
  joiningOwnership,
  type OwnershipFactory,
  type TopicLoad,
  type TopicOwnership,
} from './ownership.ts';
import { ConfigPolicies, type PolicyProvider } from './policies.ts';
import type { Authenticator, BrokerAuthorizer, BrokerContext } from './protocol/context.ts';
import { startProtocolServer } from './protocol/server.ts';
import type { BrokerService } from './service.ts';
import { BrokerServiceImpl } from './service-impl.ts';
import { ManagedLedgerTopicFactory } from './topics/persistent-factory.ts';
import { TopicRegistry } from './topics/registry.ts';
import { CounterSum, type PolicyCheck } from './topics/topic.ts';

export interface HttpServerHandle {
  readonly port: number;
  close(): Promise<void>;
}

export interface HttpServerArgs {
  readonly service: BrokerService;
  readonly metrics: Metrics;
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  readonly ready: () => string | undefined;
}

export interface BrokerDeps {
  /** Metadata store (partitioned-topic metadata, topic listing). */
  readonly metadataStore?: MetadataStore;
  /** Storage for persistent topics; without it only non-persistent topics are served. */
  readonly managedLedgers?: ManagedLedgerFactory;
  /** Policy source (lib/policies adapter); defaults to broker configuration. */
  readonly policies?: PolicyProvider;
  readonly authenticator?: Authenticator;
  /** Authorization on the binary protocol (lib/auth AuthorizationService.brokerAuthorizer()). */
  readonly authorizer?: BrokerAuthorizer;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Cluster ownership (lib/cluster); without it every topic is served here. */
  readonly ownership?: OwnershipFactory;
  /** The HTTP server on webServicePort (the admin API); defaults to the ops server. */
  readonly httpServer?: (args: HttpServerArgs) => Promise<HttpServerHandle>;
}

export interface Broker {
  readonly brokerId: string;
  readonly brokerServicePort: number;
  readonly webServicePort: number;
  readonly brokerServiceUrl: string;
  readonly service: BrokerService;
  readonly topics: TopicRegistry;
  readonly policies: PolicyProvider;
  /** Open client connections on the binary protocol port. */
  connectionCount(): number;
  /** Policies changed for a namespace (`tenant/ns`) or one topic: re-apply them to loaded topics. */
  policiesChanged(scope: { namespace: string } | { topic: string }): Promise<void>;
  /** Run one periodic policy check on every loaded topic now (or as of `nowMs`). */
  checkPolicies(check: PolicyCheck, nowMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startBroker(config: BrokerConfig, deps: BrokerDeps = {}): Promise<Broker> {
  const provisionalId = config.brokerId !== '' ? config.brokerId : `${hostname()}-${process.pid}`;
  const log = deps.logger ?? createLogger({ service: 'broker', node: provisionalId });
  const metricsRegistry = deps.metrics ?? createMetrics('broker', provisionalId);
  const metrics = createBrokerMetrics(metricsRegistry);
  const policies = deps.policies ?? new ConfigPolicies(config, deps.metadataStore);
  const persistent = deps.managedLedgers
    ? new ManagedLedgerTopicFactory(deps.managedLedgers, config, log, deps.metadataStore)
    : undefined;
  const topics = new TopicRegistry(config, policies, log, persistent);
  topics.startIdleSweeper();
  topics.startPolicyChecks();
  const namePrefix = `${config.clusterName}-${randomBytes(3).toString('hex')}`;
  let producerCounter = 0;
  const ctx: BrokerContext & {
    brokerId: string;
    brokerServiceUrl: string;
    webServiceUrl: string;
    ownership?: TopicOwnership;
  } = {
    config,
    brokerId: provisionalId,
    brokerServiceUrl: '',
    webServiceUrl: '',
    topics,
    policies,
    log,
    metrics,
    authenticator: deps.authenticator,
    authorizer: deps.authorizer,
    generateProducerName: () => `${namePrefix}-${producerCounter++}`,
    generateConsumerName: () => randomBytes(5).toString('hex'),
  };
  // Until this broker has joined the cluster it serves nothing (clients look up again).
  let joining = deps.ownership !== undefined;
  if (joining) {
    const placeholder = joiningOwnership(() =>
      brokerErrors.make('SERVICE_NOT_READY', { state: 'joining the cluster' }),
    );
    ctx.ownership = placeholder;
    topics.setOwnership(placeholder);
  }
  const protocol = await startProtocolServer(ctx, config.bindAddress, config.brokerServicePort);
  ctx.brokerServiceUrl = `pulsar://${config.advertisedAddress}:${protocol.port}`;
  const startedAtMs = Date.now();
  const gaugeTimer = setInterval(() => metrics.topicsLoaded.set(topics.loadedTopics().length), 5_000);
  gaugeTimer.unref();
  let closing = false;
  const service = new BrokerServiceImpl(ctx, () => ({
    brokerId: ctx.brokerId,
    clusterName: config.clusterName,
    brokerServiceUrl: ctx.brokerServiceUrl,
    webServiceUrl: ctx.webServiceUrl,
    startedAtMs,
  }));
  const ready = () => (closing ? 'shutting down' : joining ? 'joining the cluster' : undefined);
  let http: HttpServerHandle;
  try {
    http = deps.httpServer
      ? await deps.httpServer({
          service,
          metrics: metricsRegistry,
          host: config.bindAddress,
          port: config.webServicePort,
          log,
          ready,
        })
      : await startOpsServer({
          host: config.bindAddress,
          port: config.webServicePort,
          metrics: metricsRegistry,
          readiness: ready,
        });
  } catch (err) {
    await protocol.close();
    clearInterval(gaugeTimer);
    throw err;
  }
  ctx.webServiceUrl = `http://${config.advertisedAddress}:${http.port}`;
  ctx.brokerId = brokerIdOf(config, http.port);
  let ownership: TopicOwnership | undefined;
  if (deps.ownership) {
    try {
      ownership = await deps.ownership({
        brokerId: ctx.brokerId,
        serviceUrl: ctx.brokerServiceUrl,
        httpUrl: ctx.webServiceUrl,
        load: () => loadOf(topics, protocol.connectionCount()),
        topicLoads: () => topicLoadsOf(topics),
      });
    } catch (err) {
      await protocol.close();
      await http.close();
      clearInterval(gaugeTimer);
      throw err;
    }
    ownership.onBundleUnload((bundle) => topics.unloadWhere((t) => bundle.contains(t)));
    ctx.ownership = ownership;
    topics.setOwnership(ownership);
    joining = false;
  }
  log.info(
    {
      brokerId: ctx.brokerId,
      brokerServicePort: protocol.port,
      webServicePort: http.port,
      brokerServiceUrl: ctx.brokerServiceUrl,
      storage: persistent !== undefined,
      ownership: ownership !== undefined,
    },
    'broker ready',
  );
  return {
    brokerId: ctx.brokerId,
    brokerServicePort: protocol.port,
    webServicePort: http.port,
    brokerServiceUrl: ctx.brokerServiceUrl,
    service,
    topics,
    policies,
    connectionCount: () => protocol.connectionCount(),
    checkPolicies: (check, nowMs) => topics.checkPolicies(check, nowMs ?? Date.now()),
    policiesChanged: (scope) =>
      topics.refreshPolicies((name) =>
        'namespace' in scope
          ? name.namespaceName === scope.namespace
          : name.partitionedName === scope.topic || name.full === scope.topic,
      ),
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(gaugeTimer);
      await ownership?.close().catch((err: unknown) => log.warn({ err }, 'releasing bundles failed'));
      await protocol.close();
      await topics.closeAll();
      await http.close();
    },
  };
}

function topicLoadsOf(topics: TopicRegistry): TopicLoad[] {
  return topics.loadedTopics().map((t) => ({ topic: t.name.full, ...t.counters() }));
}

/** Totals for the load report (rates over the topics' last stats window). */
function loadOf(topics: TopicRegistry, connections: number): BrokerLoad {
  const sum = new CounterSum();
  for (const t of topics.loadedTopics()) sum.add(t.counters());
  return { ...sum, connections }; // own fields only: the spread leaves `add` behind
}
