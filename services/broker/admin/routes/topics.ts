/**
 * Topic routes for both domains (`/persistent/...` and `/non-persistent/...`): list, create,
 * delete, partitioned topics (create, increase, metadata, delete), stats, partitioned stats,
 * internal stats, unload, terminate, topic-level permissions. Data-path operations run on the
 * topic's owner (307 otherwise) through the broker's TopicAdminOps; on a partitioned topic each
 * partition's part runs on that partition's owner (forward.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { partitionName, TOPIC_DOMAINS, type TopicName, topicName } from '../../../../lib/policies/names.ts';
import { requirePolicies, updatePolicies } from '../../../../lib/policies/namespaces.ts';
import {
  createPartitionedTopic,
  deletePartitionedTopic,
  updatePartitionedTopic,
} from '../../../../lib/policies/partitioned.ts';
import {
  grantTopicPermission,
  revokeTopicPermission,
  topicPermissions,
} from '../../../../lib/policies/permissions.ts';
import { asObject, checkRole, parseActions, parseInteger } from '../../../../lib/policies/validate.ts';
import {
  type AdminContext,
  boolQuery,
  noContent,
  nsParam,
  params,
  redirectIfNotOwner,
  requireTopics,
  roleOf,
  topicParam,
} from '../context.ts';
import { adminErrors } from '../errors.ts';
import { onOwner } from '../forward.ts';
import { aggregatePartitionedStats, type TopicStats } from '../stats.ts';
import { namespaceTopics } from './namespaces.ts';

/** Partition count of a topic (0 = not partitioned; a partition itself is never partitioned). */
export async function partitionsOf(ctx: AdminContext, topic: TopicName): Promise<number> {
  if (topic.partitionIndex >= 0) return 0;
  return (await ctx.policies.getPartitionedMetadata(topic)).partitions;
}

/** The topics an operation on `topic` applies to: its partitions, or itself. */
export async function targetsOf(ctx: AdminContext, topic: TopicName): Promise<TopicName[]> {
  const n = await partitionsOf(ctx, topic);
  if (n === 0) return [topic];
  return Array.from({ length: n }, (_, i) => partitionName(topic, i));
}

function parseProperties(body: unknown): Record<string, string> {
  if (body === undefined || body === null) return {};
  const o = asObject(body, 'topic properties');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== 'string')
      throw adminErrors.make('BAD_REQUEST', { why: `property ${k} must be a string` });
    out[k] = v;
  }
  return out;
}

type Handler = (req: FastifyRequest, reply: FastifyReply, topic: TopicName) => Promise<unknown>;

export function topicRoutes(app: FastifyInstance, ctx: AdminContext): void {
  for (const domain of TOPIC_DOMAINS) {
    const N = `/${domain}/:tenant/:namespace`;
    const T = `${N}/:topic`;
    const admin = (h: Handler, op: string) => async (req: FastifyRequest, reply: FastifyReply) => {
      const topic = topicParam(req, domain);
      await ctx.authz.checkTenantAdmin(roleOf(req), topic.tenant, op);
      return h(req, reply, topic);
    };
    const lookup = (h: Handler) => async (req: FastifyRequest, reply: FastifyReply) => {
      const topic = topicParam(req, domain);
      await ctx.authz.checkTopic(roleOf(req), topic, 'lookup');
      return h(req, reply, topic);
    };

    app.get(N, async (req) => {
      const ns = nsParam(req);
      await ctx.authz.checkTenantAdmin(roleOf(req), ns.tenant, 'list topics');
      await requirePolicies(ctx.policies, ns);
      return namespaceTopics(ctx, ns, [domain]);
    });

    app.get(`${N}/partitioned`, async (req) => {
      const ns = nsParam(req);
      await ctx.authz.checkTenantAdmin(roleOf(req), ns.tenant, 'list partitioned topics');
      await requirePolicies(ctx.policies, ns);
      const locals = await ctx.policies.listPartitionedTopics(ns, domain);
      return locals.map((l) => topicName(domain, ns.tenant, ns.namespace, l).full);
    });

    app.put(
      T,
      admin(async (req, reply, topic) => {
        if (await redirectIfNotOwner(ctx, req, reply, topic)) return;
        await requirePolicies(ctx.policies, topic);
        if ((await partitionsOf(ctx, topic)) > 0)
          throw adminErrors.make('TOPIC_EXISTS', { topic: topic.full });
        await requireTopics(ctx).createTopic(topic, parseProperties(req.body));
        await noContent(reply);
      }, 'create topic'),
    );

    app.delete(
      T,
      admin(async (req, reply, topic) => {
        if (await redirectIfNotOwner(ctx, req, reply, topic)) return;
        if ((await partitionsOf(ctx, topic)) > 0)
          throw adminErrors.make('TOPIC_IS_PARTITIONED', { topic: topic.full });
        await requireTopics(ctx).deleteTopic(topic, boolQuery(req, 'force'));
        await noContent(reply);
      }, 'delete topic'),
    );

    app.put(
      `${T}/partitions`,
      admin(async (req, reply, topic) => {
        const n = parseInteger(req.body, 'partitions');
        if (ctx.topics && (await ctx.topics.topicExists(topic))) {
          throw adminErrors.make('TOPIC_EXISTS', { topic: topic.full });
        }
        await createPartitionedTopic(ctx.policies, topic, n);
        await noContent(reply);
      }, 'create partitioned topic'),
    );

    app.post(
      `${T}/partitions`,
      admin(async (req, reply, topic) => {
        await updatePartitionedTopic(ctx.policies, topic, parseInteger(req.body, 'partitions'));
        await noContent(reply);
      }, 'update partitioned topic'),
    );

    app.get(
      `${T}/partitions`,
      lookup(async (_req, _reply, topic) => ctx.policies.getPartitionedMetadata(topic)),
    );

    app.delete(
      `${T}/partitions`,
      admin(async (req, reply, topic) => {
        const n = await partitionsOf(ctx, topic);
        if (n === 0) throw adminErrors.make('TOPIC_NOT_FOUND', { topic: topic.full });
        const ops = ctx.topics;
        if (ops) {
          const force = boolQuery(req, 'force');
          for (let i = 0; i < n; i++) {
            const p = partitionName(topic, i);
            if (!(await ops.topicExists(p))) continue;
            await onOwner(ctx, req, p, () => ops.deleteTopic(p, force), {
              method: 'DELETE',
              suffix: '',
              query: { force: String(force) },
            });
          }
        }
        await deletePartitionedTopic(ctx.policies, topic);
        await noContent(reply);
      }, 'delete partitioned topic'),
    );

    app.get(
      `${T}/stats`,
      lookup(async (req, reply, topic) => {
        if (await redirectIfNotOwner(ctx, req, reply, topic)) return;
        if ((await partitionsOf(ctx, topic)) > 0)
          throw adminErrors.make('TOPIC_IS_PARTITIONED', { topic: topic.full });
        return requireTopics(ctx).stats(topic);
      }),
    );

    app.get(
      `${T}/partitioned-stats`,
      lookup(async (req, _reply, topic) => {
        const n = await partitionsOf(ctx, topic);
        if (n === 0) throw adminErrors.make('TOPIC_NOT_FOUND', { topic: `partitioned topic ${topic.full}` });
        const ops = requireTopics(ctx);
        const per: Record<string, TopicStats> = {};
        for (let i = 0; i < n; i++) {
          const p = partitionName(topic, i);
          if (!(await ops.topicExists(p))) continue;
          per[p.full] = await onOwner(ctx, req, p, () => ops.stats(p), { method: 'GET', suffix: '/stats' });
        }
        return aggregatePartitionedStats(n, per, boolQuery(req, 'perPartition', true));
      }),
    );

    app.get(
      `${T}/internalStats`,
      lookup(async (req, reply, topic) => {
        if (domain === 'non-persistent') {
          throw adminErrors.make('NOT_ALLOWED_FOR_DOMAIN', { operation: 'internalStats', domain });
        }
        if (await redirectIfNotOwner(ctx, req, reply, topic)) return;
        return requireTopics(ctx).internalStats(topic);
      }),
    );

    app.put(
      `${T}/unload`,
      admin(async (req, reply, topic) => {
        for (const t of await targetsOf(ctx, topic)) {
          if (t === topic) {
            if (await redirectIfNotOwner(ctx, req, reply, topic)) return;
            await requireTopics(ctx).unloadTopic(t);
          } else {
            const ops = requireTopics(ctx);
            await onOwner(ctx, req, t, () => ops.unloadTopic(t), { method: 'PUT', suffix: '/unload' });
          }
        }
        await noContent(reply);
      }, 'unload topic'),
    );

    app.post(
      `${T}/terminate`,
      admin(async (req, reply, topic) => {
        if (domain === 'non-persistent')
          throw adminErrors.make('NOT_ALLOWED_FOR_DOMAIN', { operation: 'terminate', domain });
        if ((await partitionsOf(ctx, topic)) > 0)
          throw adminErrors.make('TOPIC_IS_PARTITIONED', { topic: topic.full });
        if (await redirectIfNotOwner(ctx, req, reply, topic)) return;
        return requireTopics(ctx).terminateTopic(topic);
      }, 'terminate topic'),
    );

    app.get(
      `${T}/permissions`,
      admin(
        async (_req, _reply, topic) => topicPermissions(await requirePolicies(ctx.policies, topic), topic),
        'get permissions',
      ),
    );

    app.post(
      `${T}/permissions/:role`,
      admin(async (req, reply, topic) => {
        const { role } = params(req);
        checkRole(role);
        const actions = parseActions(req.body);
        await updatePolicies(ctx.policies, topic, (p) => grantTopicPermission(p, topic, role, actions));
        await noContent(reply);
      }, 'grant permission'),
    );

    app.delete(
      `${T}/permissions/:role`,
      admin(async (req, reply, topic) => {
        const { role } = params(req);
        checkRole(role);
        await updatePolicies(ctx.policies, topic, (p) =>
          revokeTopicPermission(p, { tenant: topic.tenant, namespace: topic.namespace }, topic, role),
        );
        await noContent(reply);
      }, 'revoke permission'),
    );
  }
}
