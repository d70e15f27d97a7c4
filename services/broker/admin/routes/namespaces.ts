/**
 * /admin/v2/namespaces/{tenant}[/{namespace}]: list, create (optional Policies body with bundles and
 * initial policies), get the Policies document, delete (409 while it has topics unless force),
 * list topics, unload, bundles (list, unload, split). All need tenant admin.
 */
import type { FastifyInstance } from 'fastify';
import { type SplitAlgorithm, SplitAlgorithms } from '../../../../lib/cluster/bundle-range.ts';
import { checkBoundaries, topicHash } from '../../../../lib/policies/bundles.ts';
import { policyErrors } from '../../../../lib/policies/errors.ts';
import {
  checkEntityName,
  type NamespaceName,
  parseTopicName,
  partitionName,
  TOPIC_DOMAINS,
  type TopicDomain,
  topicName,
} from '../../../../lib/policies/names.ts';
import { createNamespace, deleteNamespace, requirePolicies } from '../../../../lib/policies/namespaces.ts';
import type { Policies } from '../../../../lib/policies/types.ts';
import { asObject, intField, stringList } from '../../../../lib/policies/validate.ts';
import { type AdminContext, boolQuery, noContent, nsParam, params, query, roleOf } from '../context.ts';
import { adminErrors } from '../errors.ts';
import { initialPolicies } from './policy-table.ts';

/** Every topic of a namespace in the given domains: broker-known topics plus partitions. */
export async function namespaceTopics(ctx: AdminContext, ns: NamespaceName, domains: readonly TopicDomain[]) {
  const out = new Set<string>();
  for (const domain of domains) {
    if (ctx.topics) for (const t of await ctx.topics.listTopics(ns, domain)) out.add(t);
    for (const local of await ctx.policies.listPartitionedTopics(ns, domain)) {
      const parent = topicName(domain, ns.tenant, ns.namespace, local);
      const { partitions } = await ctx.policies.getPartitionedMetadata(parent);
      for (let i = 0; i < partitions; i++) out.add(partitionName(parent, i).full);
    }
  }
  return [...out].sort();
}

function modeDomains(mode: unknown): TopicDomain[] {
  if (mode === undefined || mode === 'PERSISTENT') return ['persistent'];
  if (mode === 'NON_PERSISTENT') return ['non-persistent'];
  if (mode === 'ALL') return [...TOPIC_DOMAINS];
  throw adminErrors.make('BAD_PARAMETER', { name: 'mode', why: 'must be PERSISTENT, NON_PERSISTENT or ALL' });
}

function parseCreateBody(
  ctx: AdminContext,
  body: unknown,
): { initial: Partial<Policies>; numBundles?: number } {
  if (body === undefined || body === null) return { initial: {} };
  const o = asObject(body, 'Policies');
  const initial = initialPolicies(ctx, o);
  let numBundles: number | undefined;
  if (o.bundles !== undefined && o.bundles !== null) {
    const b = asObject(o.bundles, 'bundles');
    if (Array.isArray(b.boundaries) && b.boundaries.length > 0) {
      const boundaries = stringList(b.boundaries, 'bundles.boundaries');
      const data = { boundaries, numBundles: boundaries.length - 1 };
      checkBoundaries(data);
      initial.bundles = data;
    } else {
      numBundles = intField(b, 'numBundles');
    }
  }
  return { initial, numBundles };
}

export function namespaceRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/namespaces/:tenant', async (req) => {
    const { tenant } = params(req);
    checkEntityName('tenant', tenant);
    await ctx.authz.checkTenantAdmin(roleOf(req), tenant, 'list namespaces');
    if (!(await ctx.policies.getTenant(tenant))) throw policyErrors.make('TENANT_NOT_FOUND', { tenant });
    return ctx.policies.listNamespaces(tenant);
  });

  app.put('/namespaces/:tenant/:namespace', async (req, reply) => {
    const ns = nsParam(req);
    await ctx.authz.checkTenantAdmin(roleOf(req), ns.tenant, 'create namespace');
    const { initial, numBundles } = parseCreateBody(ctx, req.body);
    if (initial.replication_clusters) {
      const known = await ctx.policies.listClusters();
      const unknown = initial.replication_clusters.filter((c) => !known.includes(c));
      if (unknown.length > 0) throw policyErrors.make('UNKNOWN_CLUSTERS', { clusters: unknown.join(', ') });
    }
    const created = await createNamespace(ctx.policies, ns, { initial, numBundles });
    await ctx.bundles.namespaceCreated?.(ns, created.bundles);
    await noContent(reply);
  });

  app.get('/namespaces/:tenant/:namespace', async (req) => {
    const ns = nsParam(req);
    await ctx.authz.checkTenantAdmin(roleOf(req), ns.tenant, 'get policies');
    const p = await requirePolicies(ctx.policies, ns);
    return { ...p, bundles: await ctx.bundles.bundles(ns) };
  });

  app.delete('/namespaces/:tenant/:namespace', async (req, reply) => {
    const ns = nsParam(req);
    await ctx.authz.checkTenantAdmin(roleOf(req), ns.tenant, 'delete namespace');
    const force = boolQuery(req, 'force');
    await deleteNamespace(ctx.policies, ns, {
      force,
      listTopics: async (n) => {
        const out: string[] = [];
        for (const d of TOPIC_DOMAINS) if (ctx.topics) out.push(...(await ctx.topics.listTopics(n, d)));
        return out;
      },
      deleteTopics: async (topics) => {
        for (const t of topics) await ctx.topics?.deleteTopic(parseTopicName(t), true);
      },
    });
    await ctx.bundles.namespaceDeleted?.(ns);
    await noContent(reply);
  });

  app.get('/namespaces/:tenant/:namespace/topics', async (req) => {
    const ns = nsParam(req);
    await ctx.authz.checkTenantAdmin(roleOf(req), ns.tenant, 'list topics');
    await requirePolicies(ctx.policies, ns);
    return namespaceTopics(ctx, ns, modeDomains(query(req).mode));
  });

  app.put('/namespaces/:tenant/:namespace/unload', async (req, reply) => {
    const ns = nsParam(req);
    await ctx.authz.checkTenantAdmin(roleOf(req), ns.tenant, 'unload namespace');
    const bundles = await ctx.bundles.bundles(ns);
    for (let i = 0; i < bundles.numBundles; i++) {
      await ctx.bundles.unloadBundle(ns, `${bundles.boundaries[i]}_${bundles.boundaries[i + 1]}`);
    }
    await noContent(reply);
  });

  app.get('/namespaces/:tenant/:namespace/bundles', async (req) => {
    const ns = nsParam(req);
    await ctx.authz.checkTenantAdmin(roleOf(req), ns.tenant, 'get bundles');
    return ctx.bundles.bundles(ns);
  });

  app.put('/namespaces/:tenant/:namespace/:bundle/unload', async (req, reply) => {
    const ns = nsParam(req);
    await ctx.authz.checkTenantAdmin(roleOf(req), ns.tenant, 'unload bundle');
    const destination = query(req).destinationBroker;
    await ctx.bundles.unloadBundle(
      ns,
      params(req).bundle,
      typeof destination === 'string' && destination !== '' ? destination : undefined,
    );
    await noContent(reply);
  });

  app.put('/namespaces/:tenant/:namespace/:bundle/split', async (req, reply) => {
    const ns = nsParam(req);
    await ctx.authz.checkTenantAdmin(roleOf(req), ns.tenant, 'split bundle');
    const algorithm = (query(req).splitAlgorithmName ?? 'range_equally_divide') as string;
    if (!(SplitAlgorithms as readonly string[]).includes(algorithm)) {
      throw adminErrors.make('BAD_PARAMETER', {
        name: 'splitAlgorithmName',
        why: `must be one of ${SplitAlgorithms.join(', ')}`,
      });
    }
    const req2 = { algorithm: algorithm as SplitAlgorithm, topicHashes: undefined as number[] | undefined };
    if (algorithm === 'topic_count_equally_divide') {
      req2.topicHashes = (await namespaceTopics(ctx, ns, TOPIC_DOMAINS)).map(topicHash);
    }
    await ctx.bundles.splitBundle(ns, params(req).bundle, req2, boolQuery(req, 'unload'));
    await noContent(reply);
  });
}
