/**
 * magnetar-admin policies (get / set / remove one policy of a namespace or a topic) and
 * permissions (list / grant / revoke on a namespace or a topic).
 */
import type { Command } from 'commander';
import { nsPath, topicPath } from './client.ts';
import { type ContextFactory, jsonArg, list } from './context.ts';
import { print } from './output.ts';

/** Policy name → HTTP verb that sets it (the admin API's own names). */
export const POLICY_VERBS: Record<string, 'POST' | 'PUT'> = {
  retention: 'POST',
  messageTTL: 'POST',
  backlogQuota: 'POST',
  deduplication: 'POST',
  deduplicationEnabled: 'POST',
  replication: 'POST',
  dispatchRate: 'POST',
  subscriptionDispatchRate: 'POST',
  publishRate: 'POST',
  subscribeRate: 'POST',
  subscriptionExpirationTime: 'POST',
  persistence: 'POST',
  autoTopicCreation: 'POST',
  offloadThreshold: 'PUT',
  offloadDeletionLagMs: 'PUT',
  maxProducersPerTopic: 'POST',
  maxConsumersPerTopic: 'POST',
  maxProducers: 'POST',
  maxConsumers: 'POST',
  subscriptionAuthMode: 'POST',
};

/** A namespace "tenant/ns" or a topic ("persistent://..." or "tenant/ns/topic"). */
function target(name: string): string {
  return name.includes('://') || name.split('/').length === 3 ? topicPath(name) : nsPath(name);
}

const NAMES = Object.keys(POLICY_VERBS).join(', ');

export function policiesCommand(program: Command, ctx: ContextFactory): void {
  const p = program
    .command('policies')
    .description('Get, set or remove one policy of a namespace (tenant/ns) or a topic (persistent://t/ns/x)');
  p.command('get <target> <policy>')
    .description(`Show a policy. Policies: ${NAMES}, backlogQuotaMap`)
    .option('--applied', 'topics: the effective value (topic, namespace or broker default)', false)
    .action(async (name, policy, o, cmd) => {
      const { client, out } = ctx(cmd);
      print(
        out,
        await client.get(`${target(name)}/${encodeURIComponent(policy)}${o.applied ? '?applied=true' : ''}`),
      );
    });
  p.command('set <target> <policy> <value>')
    .description(
      `Set a policy to a JSON value, e.g. set acme/ns retention '{"retentionTimeInMinutes":60,"retentionSizeInMB":100}'`,
    )
    .option('-t, --type <type>', 'backlogQuota: destination_storage | message_age', 'destination_storage')
    .action(async (name, policy, value, o, cmd) => {
      const verb = POLICY_VERBS[policy] ?? 'POST';
      const q = policy === 'backlogQuota' ? `?backlogQuotaType=${encodeURIComponent(o.type)}` : '';
      await ctx(cmd).client.request(
        verb,
        `${target(name)}/${encodeURIComponent(policy)}${q}`,
        jsonArg(value),
      );
    });
  p.command('remove <target> <policy>')
    .description('Remove a policy (inherit again)')
    .option('-t, --type <type>', 'backlogQuota: destination_storage | message_age', 'destination_storage')
    .action(async (name, policy, o, cmd) => {
      const q = policy === 'backlogQuota' ? `?backlogQuotaType=${encodeURIComponent(o.type)}` : '';
      await ctx(cmd).client.delete(`${target(name)}/${encodeURIComponent(policy)}${q}`);
    });
}

export function permissionsCommand(program: Command, ctx: ContextFactory): void {
  const p = program
    .command('permissions')
    .description('Grants of roles on a namespace (tenant/ns) or a topic');
  p.command('list <target>')
    .description('Show role → actions')
    .action(async (name, _o, cmd) => {
      const { client, out } = ctx(cmd);
      print(out, await client.get(`${target(name)}/permissions`));
    });
  p.command('grant <target> <role>')
    .description('Grant actions to a role')
    .requiredOption('-a, --actions <actions>', 'comma-separated: produce,consume')
    .action(async (name, role, o, cmd) => {
      await ctx(cmd).client.post(`${target(name)}/permissions/${encodeURIComponent(role)}`, list(o.actions));
    });
  p.command('revoke <target> <role>')
    .description("Revoke a role's grant")
    .action(async (name, role, _o, cmd) => {
      await ctx(cmd).client.delete(`${target(name)}/permissions/${encodeURIComponent(role)}`);
    });
}
