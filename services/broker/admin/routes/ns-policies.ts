/**
 * Namespace policy routes: the table rows (GET / set / DELETE each), backlog quotas (typed by
 * `backlogQuotaType`), replication clusters, permissions (namespace and subscription level).
 * All need tenant admin; every change is a CAS read-modify-write of the namespace document.
 */
import type { FastifyInstance } from 'fastify';
import { policyErrors } from '../../../../lib/policies/errors.ts';
import type { NamespaceName } from '../../../../lib/policies/names.ts';
import {
  checkReplicationClusters,
  checkRetentionVersusQuota,
  requirePolicies,
  updatePolicies,
} from '../../../../lib/policies/namespaces.ts';
import {
  grantNamespacePermission,
  grantSubscriptionRoles,
  revokeNamespacePermission,
  revokeSubscriptionRole,
} from '../../../../lib/policies/permissions.ts';
import type { Policies } from '../../../../lib/policies/types.ts';
import {
  checkRole,
  parseActions,
  parseBacklogQuota,
  parseBacklogQuotaType,
  stringList,
} from '../../../../lib/policies/validate.ts';
import { type AdminContext, noContent, nsParam, params, query, roleOf } from '../context.ts';
import { POLICY_ROWS } from './policy-table.ts';

const NS = '/namespaces/:tenant/:namespace';
type Doc = Record<string, unknown>;

async function admin(
  ctx: AdminContext,
  req: Parameters<typeof nsParam>[0],
  op: string,
): Promise<NamespaceName> {
  const ns = nsParam(req);
  await ctx.authz.checkTenantAdmin(roleOf(req), ns.tenant, op);
  return ns;
}

export function namespacePolicyRoutes(app: FastifyInstance, ctx: AdminContext): void {
  for (const row of POLICY_ROWS) {
    const slot = row.nsSlot(ctx);
    app.get(`${NS}/${row.path}`, async (req, reply) => {
      const ns = await admin(ctx, req, `get ${row.path}`);
      const v = slot.get((await requirePolicies(ctx.policies, ns)) as unknown as Doc) ?? row.unset;
      if (v === undefined) return reply.code(204).send();
      return reply.send(v);
    });
    app.route({
      method: row.verb,
      url: `${NS}/${row.path}`,
      handler: async (req, reply) => {
        const ns = await admin(ctx, req, `set ${row.path}`);
        const value = row.parse(req.body, ctx);
        await updatePolicies(ctx.policies, ns, (p) => {
          slot.set(p as unknown as Doc, value);
          if (row.path === 'retention') checkRetentionVersusQuota(ns, p, 'retention');
        });
        await noContent(reply);
      },
    });
    app.delete(`${NS}/${row.path}`, async (req, reply) => {
      const ns = await admin(ctx, req, `remove ${row.path}`);
      await updatePolicies(ctx.policies, ns, (p) => slot.del(p as unknown as Doc));
      await noContent(reply);
    });
  }

  // ---- backlog quotas -------------------------------------------------------------------------
  app.get(`${NS}/backlogQuotaMap`, async (req) => {
    const ns = await admin(ctx, req, 'get backlog quotas');
    return (await requirePolicies(ctx.policies, ns)).backlog_quota_map;
  });
  app.post(`${NS}/backlogQuota`, async (req, reply) => {
    const ns = await admin(ctx, req, 'set backlog quota');
    const type = parseBacklogQuotaType(query(req).backlogQuotaType);
    const quota = parseBacklogQuota(req.body);
    await updatePolicies(ctx.policies, ns, (p) => {
      p.backlog_quota_map[type] = quota;
      checkRetentionVersusQuota(ns, p, 'quota');
    });
    await noContent(reply);
  });
  app.delete(`${NS}/backlogQuota`, async (req, reply) => {
    const ns = await admin(ctx, req, 'remove backlog quota');
    const type = parseBacklogQuotaType(query(req).backlogQuotaType);
    await updatePolicies(ctx.policies, ns, (p) => {
      delete p.backlog_quota_map[type];
    });
    await noContent(reply);
  });

  // ---- replication clusters -------------------------------------------------------------------
  app.get(`${NS}/replication`, async (req) => {
    const ns = await admin(ctx, req, 'get replication clusters');
    return (await requirePolicies(ctx.policies, ns)).replication_clusters;
  });
  const setReplication = async (ns: NamespaceName, clusters: string[]) => {
    const known = await ctx.policies.listClusters();
    const unknown = clusters.filter((c) => !known.includes(c));
    if (unknown.length > 0) throw policyErrors.make('UNKNOWN_CLUSTERS', { clusters: unknown.join(', ') });
    await updatePolicies(ctx.policies, ns, (p, tenant) => {
      checkReplicationClusters(ns, tenant, clusters);
      p.replication_clusters = clusters;
    });
  };
  app.post(`${NS}/replication`, async (req, reply) => {
    const ns = await admin(ctx, req, 'set replication clusters');
    const clusters = stringList(req.body, 'replication clusters');
    if (clusters.length === 0) throw policyErrors.make('CLUSTERS_EMPTY');
    await setReplication(ns, clusters);
    await noContent(reply);
  });
  app.delete(`${NS}/replication`, async (req, reply) => {
    const ns = await admin(ctx, req, 'remove replication clusters');
    await updatePolicies(ctx.policies, ns, (p) => {
      p.replication_clusters = [];
    });
    await noContent(reply);
  });

  // ---- permissions ----------------------------------------------------------------------------
  app.get(`${NS}/permissions`, async (req) => {
    const ns = await admin(ctx, req, 'get permissions');
    return (await requirePolicies(ctx.policies, ns)).auth_policies.namespace_auth;
  });
  app.post(`${NS}/permissions/:role`, async (req, reply) => {
    const ns = await admin(ctx, req, 'grant permission');
    const { role } = params(req);
    checkRole(role);
    const actions = parseActions(req.body);
    await updatePolicies(ctx.policies, ns, (p: Policies) => grantNamespacePermission(p, role, actions));
    await noContent(reply);
  });
  app.delete(`${NS}/permissions/:role`, async (req, reply) => {
    const ns = await admin(ctx, req, 'revoke permission');
    const { role } = params(req);
    checkRole(role);
    await updatePolicies(ctx.policies, ns, (p) => revokeNamespacePermission(p, role));
    await noContent(reply);
  });
  app.get(`${NS}/permissions/subscription`, async (req) => {
    const ns = await admin(ctx, req, 'get subscription permissions');
    return (await requirePolicies(ctx.policies, ns)).auth_policies.subscription_auth_roles;
  });
  app.post(`${NS}/permissions/subscription/:subscription`, async (req, reply) => {
    const ns = await admin(ctx, req, 'grant subscription permission');
    const roles = stringList(req.body, 'roles');
    for (const r of roles) checkRole(r);
    const { subscription } = params(req);
    await updatePolicies(ctx.policies, ns, (p) => grantSubscriptionRoles(p, subscription, roles));
    await noContent(reply);
  });
  app.delete(`${NS}/permissions/:subscription/:role`, async (req, reply) => {
    const ns = await admin(ctx, req, 'revoke subscription permission');
    const { subscription, role } = params(req);
    await updatePolicies(ctx.policies, ns, (p) => revokeSubscriptionRole(p, subscription, role));
    await noContent(reply);
  });
}
