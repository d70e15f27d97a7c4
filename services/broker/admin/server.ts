/**
 * The admin REST API v2 (and lookup v2) as a fastify plugin the broker mounts on its HTTP port:
 * `registerAdminRoutes(app, deps)`, or `createAdminServer(deps)` for a standalone instance.
 *
 * Every request is authenticated (except GET /admin/v2/brokers/ready), bodies are bounded, and
 * every failure is a 4xx/5xx with `{"reason": "..."}` plus an `X-Magnetar-Error-Code` header
 * naming the registry code. Unexpected errors are logged and answered 500; nothing crashes.
 */
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { InvariantViolation } from '../../../lib/assert.ts';
import { isMagnetarError, type MagnetarError } from '../../../lib/errors/index.ts';
import type { AdminContext } from './context.ts';
import type { AdminDeps } from './deps.ts';
import { adminErrors } from './errors.ts';
import { documentBundles, localOwnership, localRegistry } from './local-hooks.ts';
import { brokerRoutes, lookupRoutes } from './routes/brokers.ts';
import { clusterRoutes } from './routes/clusters.ts';
import { namespaceRoutes } from './routes/namespaces.ts';
import { namespacePolicyRoutes } from './routes/ns-policies.ts';
import { subscriptionRoutes } from './routes/subscriptions.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { topicPolicyRoutes } from './routes/topic-policies.ts';
import { topicRoutes } from './routes/topics.ts';

export const ADMIN_PREFIX = '/admin/v2';
export const LOOKUP_PREFIX = '/lookup/v2';
const OPEN_ROUTES = new Set([`GET ${ADMIN_PREFIX}/brokers/ready`]);

export function adminContext(deps: AdminDeps): AdminContext {
  return {
    ...deps,
    ownership: deps.ownership ?? localOwnership(deps.identity),
    bundles: deps.bundles ?? documentBundles(deps.policies, deps.topics),
    brokers: deps.brokers ?? localRegistry(deps.identity, deps.policies),
  };
}

/** The human message of a registry error (without the "CODE: " prefix). */
function reasonOf(err: MagnetarError): string {
  const prefix = `${err.code}: `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}

function fastifyErrorToAdmin(err: FastifyError, ctx: AdminContext): MagnetarError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return adminErrors.make('BODY_TOO_LARGE', { limit: ctx.limits.maxBodyBytes });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_BAD_URL':
      return adminErrors.make('BAD_REQUEST', { why: err.message });
    default:
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        return adminErrors.make('BAD_REQUEST', { why: err.message });
      }
      return undefined;
  }
}

async function sendError(
  ctx: AdminContext,
  err: unknown,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  let e: MagnetarError | undefined = isMagnetarError(err) && err.spec.http ? err : undefined;
  if (!e && !(err instanceof InvariantViolation) && !isMagnetarError(err)) {
    e = fastifyErrorToAdmin(err as FastifyError, ctx);
  }
  if (!e) {
    ctx.log?.error({ err, method: req.method, url: req.url }, 'admin request failed');
    e = adminErrors.make('INTERNAL');
  }
  await reply
    .code(e.spec.http ?? 500)
    .header('x-magnetar-error-code', e.code)
    .type('application/json')
    .send({ reason: reasonOf(e) });
}

/** Shared set-up of one prefixed scope: body parsing, limits, authentication, errors. */
function setupScope(app: FastifyInstance, ctx: AdminContext): void {
  app.addHook('onRoute', (route) => {
    route.bodyLimit = ctx.limits.maxBodyBytes;
  });
  app.removeAllContentTypeParsers();
  // Any content type: Pulsar clients send JSON as application/json, and some send bare numbers or
  // booleans as text. Empty bodies are "no body".
  app.addContentTypeParser(
    '*',
    { parseAs: 'string', bodyLimit: ctx.limits.maxBodyBytes },
    (_req, body, done) => {
      const text = (body as string).trim();
      if (text === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch (e) {
        done(adminErrors.make('MALFORMED_JSON', { why: (e as Error).message }), undefined);
      }
    },
  );
  app.addHook('onRequest', async (req) => {
    const routeKey = `${req.method} ${req.routeOptions.url ?? ''}`;
    if (OPEN_ROUTES.has(routeKey)) return;
    const { role } = await ctx.authn.authenticateHttp(req.headers.authorization);
    req.magnetarRole = role;
  });
  app.setErrorHandler((err, req, reply) => sendError(ctx, err, req, reply));
  app.setNotFoundHandler((req, reply) =>
    sendError(
      ctx,
      adminErrors.make('NOT_FOUND', { method: req.method, path: req.url.split('?')[0] }),
      req,
      reply,
    ),
  );
}

/** Mount /admin/v2 and /lookup/v2 on an existing fastify app (the broker's HTTP server). */
export async function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const ctx = adminContext(deps);
  if (!app.hasRequestDecorator('magnetarRole')) app.decorateRequest('magnetarRole', '');
  await app.register(
    async (scope) => {
      setupScope(scope, ctx);
      clusterRoutes(scope, ctx);
      tenantRoutes(scope, ctx);
      namespaceRoutes(scope, ctx);
      namespacePolicyRoutes(scope, ctx);
      topicRoutes(scope, ctx);
      topicPolicyRoutes(scope, ctx);
      subscriptionRoutes(scope, ctx);
      brokerRoutes(scope, ctx);
    },
    { prefix: ADMIN_PREFIX },
  );
  await app.register(
    async (scope) => {
      setupScope(scope, ctx);
      lookupRoutes(scope, ctx);
    },
    { prefix: LOOKUP_PREFIX },
  );
}

/**
 * Root-level error answers for a fastify app hosting the admin API (errors raised before routing,
 * such as an undecodable URL, and errors outside the admin prefixes): the broker passes these to
 * its own fastify app as `frameworkErrors` and `setErrorHandler`/`setNotFoundHandler`.
 */
export function rootErrorHandlers(deps: AdminDeps) {
  const ctx = adminContext(deps);
  const handle = (err: unknown, req: FastifyRequest, reply: FastifyReply) => sendError(ctx, err, req, reply);
  return {
    frameworkErrors: handle,
    errorHandler: handle,
    notFound: (req: FastifyRequest, reply: FastifyReply) =>
      sendError(
        ctx,
        adminErrors.make('NOT_FOUND', { method: req.method, path: req.url.split('?')[0] }),
        req,
        reply,
      ),
  };
}

/** A fastify instance serving only the admin API (tests, tools); the caller listens and closes it. */
export async function createAdminServer(deps: AdminDeps): Promise<FastifyInstance> {
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
  await registerAdminRoutes(app, deps);
  return app;
}
