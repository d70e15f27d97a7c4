/**
 * Topic-level policies: `/{domain}/{t}/{ns}/{topic}/<policy>` GET (`?applied=true` gives the
 * effective value after topic → namespace → broker-default resolution), POST to set, DELETE to
 * remove the override; plus backlogQuota / backlogQuotaMap. Tenant admin only.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { partitionedParent, TOPIC_DOMAINS, type TopicName } from '../../../../lib/policies/names.ts';
import { requirePolicies } from '../../../../lib/policies/namespaces.ts';
import type { EffectivePolicies } from '../../../../lib/policies/resolve.ts';
import { updateTopicPolicies } from '../../../../lib/policies/topic-policies.ts';
import { parseBacklogQuota, parseBacklogQuotaType } from '../../../../lib/policies/validate.ts';
import { type AdminContext, boolQuery, noContent, query, roleOf, topicParam } from '../context.ts';
import { direct, POLICY_ROWS } from './policy-table.ts';

/** Which effective value a topic-level policy reads with `applied=true`. */
const APPLIED: Record<string, keyof EffectivePolicies> = {
  retention_policies: 'retention',
  message_ttl_in_seconds: 'messageTtlSeconds',
  deduplicationEnabled: 'deduplicationEnabled',
  persistence: 'persistence',
  dispatchRate: 'dispatchRate',
  subscriptionDispatchRate: 'subscriptionDispatchRate',
  publishRate: 'publishRate',
  subscribeRate: 'subscribeRate',
  max_producers_per_topic: 'maxProducersPerTopic',
  max_consumers_per_topic: 'maxConsumersPerTopic',
};

type Doc = Record<string, unknown>;

export function topicPolicyRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const admin = async (req: FastifyRequest, domain: string, op: string): Promise<TopicName> => {
    const topic = topicParam(req, domain);
    await ctx.authz.checkTenantAdmin(roleOf(req), topic.tenant, op);
    await requirePolicies(ctx.policies, topic);
    return topic;
  };
  const effective = (topic: TopicName) => ctx.policies.effectivePolicies(topic, partitionedParent(topic));

  for (const domain of TOPIC_DOMAINS) {
    const T = `/${domain}/:tenant/:namespace/:topic`;
    for (const row of POLICY_ROWS) {
      const field = row.topicField;
      if (!field) continue;
      const slot = direct(field);
      const url = `${T}/${row.topicPath ?? row.path}`;
      app.get(url, async (req, reply) => {
        const topic = await admin(req, domain, `get ${row.path}`);
        if (boolQuery(req, 'applied')) return (await effective(topic))[APPLIED[field]];
        const v = slot.get(((await ctx.policies.getTopicPolicies(topic)) ?? {}) as Doc);
        if (v === undefined) return reply.code(204).send();
        return v;
      });
      app.post(url, async (req, reply) => {
        const topic = await admin(req, domain, `set ${row.path}`);
        // Pulsar's topic messageTTL takes its value as a query parameter.
        const body = row.path === 'messageTTL' && req.body === undefined ? query(req).messageTTL : req.body;
        const value = row.parse(body, ctx);
        await updateTopicPolicies(ctx.policies, topic, (p) => slot.set(p as Doc, value));
        await noContent(reply);
      });
      app.delete(url, async (req, reply) => {
        const topic = await admin(req, domain, `remove ${row.path}`);
        await updateTopicPolicies(ctx.policies, topic, (p) => slot.del(p as Doc));
        await noContent(reply);
      });
    }

    app.get(`${T}/backlogQuotaMap`, async (req) => {
      const topic = await admin(req, domain, 'get backlog quotas');
      if (boolQuery(req, 'applied')) return (await effective(topic)).backlogQuotas;
      return (await ctx.policies.getTopicPolicies(topic))?.backlog_quota_map ?? {};
    });
    app.post(`${T}/backlogQuota`, async (req, reply) => {
      const topic = await admin(req, domain, 'set backlog quota');
      const type = parseBacklogQuotaType(query(req).backlogQuotaType);
      const quota = parseBacklogQuota(req.body);
      await updateTopicPolicies(ctx.policies, topic, (p) => {
        p.backlog_quota_map = { ...(p.backlog_quota_map ?? {}), [type]: quota };
      });
      await noContent(reply);
    });
    app.delete(`${T}/backlogQuota`, async (req, reply) => {
      const topic = await admin(req, domain, 'remove backlog quota');
      const type = parseBacklogQuotaType(query(req).backlogQuotaType);
      await updateTopicPolicies(ctx.policies, topic, (p) => {
        if (!p.backlog_quota_map) return;
        delete p.backlog_quota_map[type];
        if (Object.keys(p.backlog_quota_map).length === 0) delete p.backlog_quota_map;
      });
      await noContent(reply);
    });
  }
}
