/**
 * magnetar-admin: the admin CLI over the admin REST API v2 (any broker's port 8080).
 * Global options: --admin-url (MAGNETAR_ADMIN_URL), --token / --token-file (MAGNETAR_ADMIN_TOKEN),
 * --json. Exit code 0 on success, 1 on an error (the server's reason on stderr), 2 on bad usage.
 */
import { Command, CommanderError } from 'commander';
import { isMagnetarError } from '../../errors/index.ts';
import { CliError } from './client.ts';
import { type ContextFactory, defaultContext } from './context.ts';
import { permissionsCommand, policiesCommand } from './policies.ts';
import { brokersCommand, clustersCommand, namespacesCommand, tenantsCommand } from './resources.ts';
import { tokenCommand } from './token.ts';
import { topicsCommand } from './topics.ts';

export function buildProgram(ctx: ContextFactory = defaultContext): Command {
  const program = new Command('magnetar-admin')
    .description('Administer a Magnetar cluster: tenants, namespaces, topics, policies, permissions, tokens')
    .option('-u, --admin-url <url>', 'admin URL of any broker (env MAGNETAR_ADMIN_URL)', undefined)
    .option('--token <jwt>', 'bearer token (env MAGNETAR_ADMIN_TOKEN)')
    .option('--token-file <file>', 'read the bearer token from a file')
    .option('--json', 'print JSON instead of tables', false)
    .showHelpAfterError()
    .exitOverride();
  clustersCommand(program, ctx);
  tenantsCommand(program, ctx);
  namespacesCommand(program, ctx);
  policiesCommand(program, ctx);
  permissionsCommand(program, ctx);
  topicsCommand(program, ctx);
  brokersCommand(program, ctx);
  tokenCommand(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0
        ? 0
        : 2;
    }
    const message =
      err instanceof CliError || isMagnetarError(err) ? err.message : String((err as Error)?.stack ?? err);
    process.stderr.write(`error: ${message}\n`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
