/**
 * The broker's HTTP server on its web service port (8080): the admin API v2, lookup v2, and the
 * operations routes every process serves (/health, /ready, /metrics) on one fastify instance.
 * `adminHttpServer(opts)` returns the broker's `httpServer` dependency (startBroker deps):
 * it is called with the BrokerService, metrics registry, bind address and readiness.
 */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { AuthenticationService } from '../../../lib/auth/authenticate.ts';
import type { AuthorizationService } from '../../../lib/auth/authorize.ts';
import type { Logger } from '../../../lib/log/index.ts';
import type { Metrics } from '../../../lib/metrics/index.ts';
import type { PolicyStore } from '../../../lib/policies/store.ts';
import type { BrokerService } from '../service.ts';
import { topicOpsFromBroker } from './broker-adapter.ts';
import type { AdminDeps, AdminLimits, BrokerRegistry, BundleHook, OwnershipHook } from './deps.ts';
import { registerAdminRoutes, rootErrorHandlers } from './server.ts';

export interface AdminHttpOptions {
  policies: PolicyStore;
  authn: AuthenticationService;
  authz: AuthorizationService;
  limits?: Partial<AdminLimits>;
  ownership?: OwnershipHook;
  bundles?: BundleHook;
  brokers?: BrokerRegistry;
  healthCheck?: () => Promise<void>;
}

/** What startBroker passes to its `httpServer` dependency. */
export interface BrokerHttpArgs {
  readonly service: BrokerService;
  readonly metrics: Metrics;
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  readonly ready: () => string | undefined;
}

export const DEFAULT_ADMIN_LIMITS: AdminLimits = { maxBodyBytes: 1_048_576, maxPeekPosition: 1000 };

export function adminHttpServer(opts: AdminHttpOptions) {
  return async (args: BrokerHttpArgs): Promise<{ port: number; close(): Promise<void> }> => {
    const deps: AdminDeps = {
      policies: opts.policies,
      authn: opts.authn,
      authz: opts.authz,
      // Live view: the broker sets its web URL only after this server has bound its port.
      identity: {
        get brokerId() {
          return args.service.info.brokerId;
        },
        get webServiceUrl() {
          return args.service.info.webServiceUrl;
        },
        get brokerServiceUrl() {
          return args.service.info.brokerServiceUrl;
        },
      },
      limits: { ...DEFAULT_ADMIN_LIMITS, ...opts.limits },
      log: args.log,
      topics: topicOpsFromBroker(args.service),
      ownership: opts.ownership,
      bundles: opts.bundles,
      brokers: opts.brokers,
      readiness: args.ready,
      healthCheck: opts.healthCheck,
    };
    const root = rootErrorHandlers(deps);
    const app = Fastify({
      logger: false,
      bodyLimit: deps.limits.maxBodyBytes,
      maxParamLength: 2048,
      return503OnClosing: true,
      frameworkErrors: root.frameworkErrors,
    });
    app.setErrorHandler(root.errorHandler);
    app.setNotFoundHandler(root.notFound);
    app.get('/health', async () => ({ status: 'ok' }));
    app.get('/ready', async (_req, reply) => {
      const why = args.ready();
      return why === undefined ? { status: 'ready' } : reply.code(503).send({ reason: why });
    });
    app.get('/metrics', async (_req, reply) => {
      const text = await args.metrics.render();
      return reply.type(args.metrics.registry.contentType).send(text);
    });
    await registerAdminRoutes(app, deps);
    await app.listen({ host: args.host, port: args.port });
    return {
      port: (app.server.address() as AddressInfo).port,
      close: () => app.close(),
    };
  };
}
