/**
 * /admin/v2/tenants: list and create/update/delete need a superuser; a tenant admin may read its
 * own tenant. Create: 409 exists, 412 bad name / no clusters / unknown clusters. Delete: 409 while
 * it has namespaces.
 */
import type { FastifyInstance } from 'fastify';
import { policyErrors } from '../../../../lib/policies/errors.ts';
import { checkEntityName } from '../../../../lib/policies/names.ts';
import { parseTenantInfo } from '../../../../lib/policies/validate.ts';
import { type AdminContext, noContent, params, roleOf } from '../context.ts';

export function tenantRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/tenants', async (req) => {
    ctx.authz.checkSuperUser(roleOf(req), 'list tenants');
    return ctx.policies.listTenants();
  });

  app.get('/tenants/:tenant', async (req) => {
    const { tenant } = params(req);
    checkEntityName('tenant', tenant);
    await ctx.authz.checkTenantAdmin(roleOf(req), tenant, 'get tenant');
    const info = await ctx.policies.getTenant(tenant);
    if (!info) throw policyErrors.make('TENANT_NOT_FOUND', { tenant });
    return info;
  });

  app.put('/tenants/:tenant', async (req, reply) => {
    ctx.authz.checkSuperUser(roleOf(req), 'create tenant');
    const { tenant } = params(req);
    checkEntityName('tenant', tenant);
    await ctx.policies.createTenant(tenant, parseTenantInfo(req.body));
    await noContent(reply);
  });

  app.post('/tenants/:tenant', async (req, reply) => {
    ctx.authz.checkSuperUser(roleOf(req), 'update tenant');
    const { tenant } = params(req);
    checkEntityName('tenant', tenant);
    await ctx.policies.updateTenant(tenant, parseTenantInfo(req.body));
    await noContent(reply);
  });

  app.delete('/tenants/:tenant', async (req, reply) => {
    ctx.authz.checkSuperUser(roleOf(req), 'delete tenant');
    const { tenant } = params(req);
    checkEntityName('tenant', tenant);
    await ctx.policies.deleteTenant(tenant);
    await noContent(reply);
  });
}
