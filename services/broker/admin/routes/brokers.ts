/**
 * /admin/v2/brokers: active brokers, leader, owned namespaces, health (superuser), ready (open,
 * for probes). /lookup/v2/topic/...: the owner's URLs, and the bundle a topic hashes into.
 */
import type { FastifyInstance } from 'fastify';
import { bundleForTopic } from '../../../../lib/policies/bundles.ts';
import { policyErrors } from '../../../../lib/policies/errors.ts';
import { checkEntityName, TOPIC_DOMAINS } from '../../../../lib/policies/names.ts';
import { type AdminContext, boolQuery, params, roleOf, topicParam } from '../context.ts';
import { adminErrors } from '../errors.ts';

export function brokerRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const cluster = ctx.policies.cluster;

  app.get('/brokers', async (req) => {
    ctx.authz.checkSuperUser(roleOf(req), 'list brokers');
    return ctx.brokers.activeBrokers(cluster);
  });

  app.get('/brokers/leaderBroker', async (req) => {
    ctx.authz.checkSuperUser(roleOf(req), 'get leader broker');
    const leader = await ctx.brokers.leader();
    if (!leader) throw adminErrors.make('NO_LEADER');
    return leader;
  });

  app.get('/brokers/health', async (req, reply) => {
    ctx.authz.checkSuperUser(roleOf(req), 'health check');
    try {
      if (ctx.healthCheck) await ctx.healthCheck();
      else await ctx.policies.listClusters(); // the metadata store answers
    } catch (err) {
      throw adminErrors.make('UNHEALTHY', { why: (err as Error).message }, err);
    }
    return reply.type('text/plain').send('ok');
  });

  // Pulsar's forced quota evaluation on this broker (the periodic check runs it too).
  app.get('/brokers/backlog-quota-check', async (req, reply) => {
    ctx.authz.checkSuperUser(roleOf(req), 'backlog quota check');
    if (!ctx.topics?.checkBacklogQuotas) throw adminErrors.make('TOPIC_SERVICE_UNAVAILABLE');
    await ctx.topics.checkBacklogQuotas();
    return reply.code(204).send();
  });

  app.get('/brokers/ready', async (_req, reply) => {
    const why = ctx.readiness?.();
    if (why !== undefined) throw adminErrors.make('NOT_READY', { why });
    return reply.type('text/plain').send('ok');
  });

  app.get('/brokers/:cluster', async (req) => {
    ctx.authz.checkSuperUser(roleOf(req), 'list brokers');
    const { cluster: c } = params(req);
    checkEntityName('cluster', c);
    if (!(await ctx.policies.getCluster(c))) throw policyErrors.make('CLUSTER_NOT_FOUND', { cluster: c });
    return ctx.brokers.activeBrokers(c);
  });

  app.get('/brokers/:cluster/:broker/ownedNamespaces', async (req) => {
    ctx.authz.checkSuperUser(roleOf(req), 'list owned namespaces');
    const { cluster: c, broker } = params(req);
    checkEntityName('cluster', c);
    if (!(await ctx.policies.getCluster(c))) throw policyErrors.make('CLUSTER_NOT_FOUND', { cluster: c });
    return ctx.brokers.ownedNamespaces(c, broker);
  });
}

export function lookupRoutes(app: FastifyInstance, ctx: AdminContext): void {
  for (const domain of TOPIC_DOMAINS) {
    const T = `/topic/${domain}/:tenant/:namespace/:topic`;
    app.get(T, async (req) => {
      const topic = topicParam(req, domain);
      await ctx.authz.checkTopic(roleOf(req), topic, 'lookup');
      const p = await ctx.policies.getPolicies(topic);
      if (!p)
        throw policyErrors.make('NAMESPACE_NOT_FOUND', { namespace: `${topic.tenant}/${topic.namespace}` });
      return ctx.ownership.lookup(topic, boolQuery(req, 'authoritative'));
    });
    app.get(`${T}/bundle`, async (req, reply) => {
      const topic = topicParam(req, domain);
      await ctx.authz.checkTopic(roleOf(req), topic, 'lookup');
      const bundles = await ctx.bundles.bundles(topic);
      return reply.type('text/plain').send(bundleForTopic(bundles, topic.full).name);
    });
  }
}
