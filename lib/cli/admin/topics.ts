/** magnetar-admin topics: create, delete, partitions, stats, subscriptions, peek, unload, terminate, lookup. */
import type { Command } from 'commander';
import { CliError, topicOf, topicPath } from './client.ts';
import { type ContextFactory, int } from './context.ts';
import { print } from './output.ts';

const enc = encodeURIComponent;

export function topicsCommand(program: Command, ctx: ContextFactory): void {
  const t = program.command('topics').description('Manage topics and subscriptions');
  const simple = (name: string, desc: string, method: string, suffix: string, show = true) =>
    t
      .command(`${name} <topic>`)
      .description(desc)
      .action(async (topic, _o, cmd) => {
        const { client, out } = ctx(cmd);
        const res = await client.request(method, `${topicPath(topic)}${suffix}`);
        if (show) print(out, res.body);
      });

  t.command('list <namespace>')
    .description('List the topics of a namespace (tenant/namespace)')
    .option('--non-persistent', 'list non-persistent topics', false)
    .action(async (ns, o, cmd) => {
      const { client, out } = ctx(cmd);
      const [tenant, n] = ns.split('/');
      if (!tenant || !n) throw new CliError('namespace must be tenant/namespace');
      const domain = o.nonPersistent ? 'non-persistent' : 'persistent';
      print(out, await client.get(`/admin/v2/${domain}/${enc(tenant)}/${enc(n)}`));
    });
  simple('create', 'Create a non-partitioned topic', 'PUT', '', false);
  t.command('delete <topic>')
    .description('Delete a topic (refused while in use, unless --force)')
    .option('-f, --force', 'disconnect clients and delete', false)
    .action(async (topic, o, cmd) => {
      await ctx(cmd).client.delete(`${topicPath(topic)}?force=${Boolean(o.force)}`);
    });
  t.command('create-partitioned <topic>')
    .description('Create a partitioned topic')
    .requiredOption('-p, --partitions <n>', 'number of partitions', int('partitions'))
    .action(async (topic, o, cmd) => {
      await ctx(cmd).client.put(`${topicPath(topic)}/partitions`, o.partitions);
    });
  t.command('update-partitioned <topic>')
    .description('Increase the partitions of a partitioned topic')
    .requiredOption('-p, --partitions <n>', 'new number of partitions', int('partitions'))
    .action(async (topic, o, cmd) => {
      await ctx(cmd).client.post(`${topicPath(topic)}/partitions`, o.partitions);
    });
  simple('partitions', 'Show the partition count (0 = not partitioned)', 'GET', '/partitions');
  t.command('delete-partitioned <topic>')
    .description('Delete a partitioned topic and its partitions')
    .option('-f, --force', 'disconnect clients and delete', false)
    .action(async (topic, o, cmd) => {
      await ctx(cmd).client.delete(`${topicPath(topic)}/partitions?force=${Boolean(o.force)}`);
    });
  simple('stats', 'Topic stats', 'GET', '/stats');
  simple(
    'partitioned-stats',
    'Stats of a partitioned topic (aggregated and per partition)',
    'GET',
    '/partitioned-stats',
  );
  simple('internal-stats', 'Managed-ledger stats (ledgers, cursors)', 'GET', '/internalStats');
  simple('subscriptions', 'List subscriptions', 'GET', '/subscriptions');
  simple('unload', 'Unload the topic from its broker', 'PUT', '/unload', false);
  simple('terminate', 'Seal the topic; prints the last message id', 'POST', '/terminate');
  t.command('lookup <topic>')
    .description('Which broker serves the topic')
    .action(async (topic, _o, cmd) => {
      const { client, out } = ctx(cmd);
      const tn = topicOf(topic);
      print(
        out,
        await client.get(
          `/lookup/v2/topic/${tn.domain}/${enc(tn.tenant)}/${enc(tn.namespace)}/${enc(tn.local)}`,
        ),
      );
    });

  const sub = (name: string, desc: string) =>
    t
      .command(`${name} <topic>`)
      .description(desc)
      .requiredOption('-s, --subscription <name>', 'subscription');
  const subPath = (topic: string, s: string) => `${topicPath(topic)}/subscription/${enc(s)}`;
  sub('create-subscription', 'Create a subscription')
    .option('--earliest', 'start at the earliest message (default: latest)', false)
    .action(async (topic, o, cmd) => {
      await ctx(cmd).client.put(
        subPath(topic, o.subscription),
        o.earliest ? { ledgerId: -1, entryId: -1 } : undefined,
      );
    });
  sub('unsubscribe', 'Delete a subscription')
    .option('-f, --force', 'disconnect its consumers', false)
    .action(async (topic, o, cmd) => {
      await ctx(cmd).client.delete(`${subPath(topic, o.subscription)}?force=${Boolean(o.force)}`);
    });
  sub('skip', 'Skip messages')
    .requiredOption('-n, --count <n>', 'messages to skip', int('count'))
    .action(async (topic, o, cmd) => {
      await ctx(cmd).client.post(`${subPath(topic, o.subscription)}/skip/${o.count}`);
    });
  sub('clear-backlog', 'Skip every message').action(async (topic, o, cmd) => {
    await ctx(cmd).client.post(`${subPath(topic, o.subscription)}/skip_all`);
  });
  sub('reset-cursor', 'Move the subscription to a publish time or a message id')
    .option('-t, --time <ms>', 'publish time in ms since the epoch', int('time'))
    .option('-m, --message-id <ledger:entry>', 'message id')
    .action(async (topic, o, cmd) => {
      const { client } = ctx(cmd);
      if (o.time !== undefined)
        return void (await client.post(`${subPath(topic, o.subscription)}/resetcursor/${o.time}`));
      const m = /^(\d+):(\d+)$/.exec(o.messageId ?? '');
      if (!m) throw new CliError('give --time <ms> or --message-id <ledger:entry>');
      await client.post(`${subPath(topic, o.subscription)}/resetcursor`, {
        ledgerId: Number(m[1]),
        entryId: Number(m[2]),
      });
    });
  sub('expire-messages', 'Expire messages older than some seconds')
    .requiredOption('-e, --seconds <n>', 'age in seconds', int('seconds'))
    .action(async (topic, o, cmd) => {
      await ctx(cmd).client.post(`${subPath(topic, o.subscription)}/expireMessages/${o.seconds}`);
    });
  sub('peek', 'Show the n-th message of the backlog without consuming it')
    .option('-n, --position <n>', 'position (1 = next)', int('position'), 1)
    .action(async (topic, o, cmd) => {
      const { client, out } = ctx(cmd);
      const res = await client.request('GET', `${subPath(topic, o.subscription)}/position/${o.position}`);
      const meta: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        if (k.startsWith('x-pulsar-')) meta[k.slice(9)] = v;
      });
      print(out, { ...meta, payload: new TextDecoder().decode(res.bytes) });
    });
}
