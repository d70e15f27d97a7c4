/** /admin/v2/clusters: list, get, create (PUT), update (POST), delete. Writes need a superuser. */
import type { FastifyInstance } from 'fastify';
import { policyErrors } from '../../../../lib/policies/errors.ts';
import { checkEntityName } from '../../../../lib/policies/names.ts';
import { parseClusterData } from '../../../../lib/policies/validate.ts';
import { type AdminContext, noContent, params, roleOf } from '../context.ts';

export function clusterRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/clusters', async () => ctx.policies.listClusters());

  app.get('/clusters/:cluster', async (req) => {
    const { cluster } = params(req);
    checkEntityName('cluster', cluster);
    const data = await ctx.policies.getCluster(cluster);
    if (!data) throw policyErrors.make('CLUSTER_NOT_FOUND', { cluster });
    return data;
  });

  app.put('/clusters/:cluster', async (req, reply) => {
    ctx.authz.checkSuperUser(roleOf(req), 'create cluster');
    const { cluster } = params(req);
    checkEntityName('cluster', cluster);
    await ctx.policies.createCluster(cluster, parseClusterData(req.body));
    await noContent(reply);
  });

  app.post('/clusters/:cluster', async (req, reply) => {
    ctx.authz.checkSuperUser(roleOf(req), 'update cluster');
    const { cluster } = params(req);
    checkEntityName('cluster', cluster);
    await ctx.policies.updateCluster(cluster, parseClusterData(req.body));
    await noContent(reply);
  });

  app.delete('/clusters/:cluster', async (req, reply) => {
    ctx.authz.checkSuperUser(roleOf(req), 'delete cluster');
    const { cluster } = params(req);
    checkEntityName('cluster', cluster);
    await ctx.policies.deleteCluster(cluster);
    await noContent(reply);
  });
}
