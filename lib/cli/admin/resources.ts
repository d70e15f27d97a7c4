/** magnetar-admin clusters | tenants | namespaces | brokers. */
import type { Command } from 'commander';
import { nsPath } from './client.ts';
import { type ContextFactory, int, list } from './context.ts';
import { print } from './output.ts';

const enc = encodeURIComponent;

export function clustersCommand(program: Command, ctx: ContextFactory): void {
  const c = program.command('clusters').description('Manage clusters');
  c.command('list')
    .description('List cluster names')
    .action(async (_o, cmd) => {
      const { client, out } = ctx(cmd);
      print(out, await client.get('/admin/v2/clusters'));
    });
  c.command('get <cluster>')
    .description('Show a cluster')
    .action(async (name, _o, cmd) => {
      const { client, out } = ctx(cmd);
      print(out, await client.get(`/admin/v2/clusters/${enc(name)}`));
    });
  for (const verb of ['create', 'update'] as const) {
    c.command(`${verb} <cluster>`)
      .description(`${verb === 'create' ? 'Create' : 'Update'} a cluster (superuser)`)
      .option('--url <url>', 'web service URL (http://host:8080)')
      .option('--broker-url <url>', 'binary protocol URL (pulsar://host:6650)')
      .action(async (name, o, cmd) => {
        const { client } = ctx(cmd);
        const body: Record<string, string> = {};
        if (o.url) body.serviceUrl = o.url;
        if (o.brokerUrl) body.brokerServiceUrl = o.brokerUrl;
        await client.request(verb === 'create' ? 'PUT' : 'POST', `/admin/v2/clusters/${enc(name)}`, body);
      });
  }
  c.command('delete <cluster>')
    .description('Delete a cluster (superuser)')
    .action(async (name, _o, cmd) => {
      await ctx(cmd).client.delete(`/admin/v2/clusters/${enc(name)}`);
    });
}

export function tenantsCommand(program: Command, ctx: ContextFactory): void {
  const t = program.command('tenants').description('Manage tenants');
  t.command('list')
    .description('List tenants (superuser)')
    .action(async (_o, cmd) => {
      const { client, out } = ctx(cmd);
      print(out, await client.get('/admin/v2/tenants'));
    });
  t.command('get <tenant>')
    .description('Show a tenant: admin roles and allowed clusters')
    .action(async (name, _o, cmd) => {
      const { client, out } = ctx(cmd);
      print(out, await client.get(`/admin/v2/tenants/${enc(name)}`));
    });
  for (const verb of ['create', 'update'] as const) {
    t.command(`${verb} <tenant>`)
      .description(`${verb === 'create' ? 'Create' : 'Update'} a tenant (superuser)`)
      .option('-r, --admin-roles <roles>', 'comma-separated admin roles', '')
      .requiredOption('-c, --allowed-clusters <clusters>', 'comma-separated clusters the tenant may use')
      .action(async (name, o, cmd) => {
        const body = { adminRoles: list(o.adminRoles), allowedClusters: list(o.allowedClusters) };
        await ctx(cmd).client.request(
          verb === 'create' ? 'PUT' : 'POST',
          `/admin/v2/tenants/${enc(name)}`,
          body,
        );
      });
  }
  t.command('delete <tenant>')
    .description('Delete a tenant (it must have no namespaces)')
    .action(async (name, _o, cmd) => {
      await ctx(cmd).client.delete(`/admin/v2/tenants/${enc(name)}`);
    });
}

export function namespacesCommand(program: Command, ctx: ContextFactory): void {
  const n = program.command('namespaces').description('Manage namespaces and their bundles');
  n.command('list <tenant>')
    .description('List the namespaces of a tenant')
    .action(async (tenant, _o, cmd) => {
      const { client, out } = ctx(cmd);
      print(out, await client.get(`/admin/v2/namespaces/${enc(tenant)}`));
    });
  n.command('create <namespace>')
    .description('Create a namespace (tenant/namespace)')
    .option('-b, --bundles <n>', 'number of bundles', int('bundles'))
    .option('-c, --clusters <clusters>', 'comma-separated replication clusters')
    .action(async (ns, o, cmd) => {
      const body: Record<string, unknown> = {};
      if (o.bundles !== undefined) body.bundles = { numBundles: o.bundles };
      if (o.clusters) body.replication_clusters = list(o.clusters);
      await ctx(cmd).client.put(nsPath(ns), Object.keys(body).length > 0 ? body : undefined);
    });
  n.command('delete <namespace>')
    .description('Delete a namespace (refused while it has topics, unless --force)')
    .option('-f, --force', 'delete its topics too', false)
    .action(async (ns, o, cmd) => {
      await ctx(cmd).client.delete(`${nsPath(ns)}?force=${Boolean(o.force)}`);
    });
  n.command('policies <namespace>')
    .description('Show the full policies document')
    .action(async (ns, _o, cmd) => {
      const { client, out } = ctx(cmd);
      print(out, await client.get(nsPath(ns)));
    });
  n.command('topics <namespace>')
    .description('List the topics of a namespace')
    .option('-m, --mode <mode>', 'PERSISTENT, NON_PERSISTENT or ALL', 'PERSISTENT')
    .action(async (ns, o, cmd) => {
      const { client, out } = ctx(cmd);
      print(out, await client.get(`${nsPath(ns)}/topics?mode=${enc(o.mode)}`));
    });
  n.command('bundles <namespace>')
    .description('Show the bundle boundaries')
    .action(async (ns, _o, cmd) => {
      const { client, out } = ctx(cmd);
      print(out, await client.get(`${nsPath(ns)}/bundles`));
    });
  n.command('unload <namespace>')
    .description('Unload the namespace (or one bundle)')
    .option('-b, --bundle <range>', 'bundle, e.g. 0x00000000_0x40000000')
    .action(async (ns, o, cmd) => {
      await ctx(cmd).client.put(o.bundle ? `${nsPath(ns)}/${enc(o.bundle)}/unload` : `${nsPath(ns)}/unload`);
    });
  n.command('split-bundle <namespace>')
    .description('Split a bundle in two')
    .requiredOption('-b, --bundle <range>', 'bundle, e.g. 0x00000000_0x40000000')
    .option('-u, --unload', 'unload the new bundles', false)
    .option(
      '-a, --algorithm <name>',
      'range_equally_divide | topic_count_equally_divide',
      'range_equally_divide',
    )
    .action(async (ns, o, cmd) => {
      await ctx(cmd).client.put(
        `${nsPath(ns)}/${enc(o.bundle)}/split?unload=${Boolean(o.unload)}&splitAlgorithmName=${enc(o.algorithm)}`,
      );
    });
}

export function brokersCommand(program: Command, ctx: ContextFactory): void {
  const b = program.command('brokers').description('Brokers of the cluster');
  b.command('list')
    .description('Active brokers')
    .action(async (_o, cmd) => {
      const { client, out } = ctx(cmd);
      print(out, await client.get('/admin/v2/brokers'));
    });
  b.command('leader')
    .description('The leader broker')
    .action(async (_o, cmd) => {
      const { client, out } = ctx(cmd);
      print(out, await client.get('/admin/v2/brokers/leaderBroker'));
    });
  b.command('health')
    .description('Run the broker health check')
    .action(async (_o, cmd) => {
      const { client, out } = ctx(cmd);
      print(out, await client.get('/admin/v2/brokers/health'));
    });
}
