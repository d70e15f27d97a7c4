/**
 * `magnetar standalone [options]`: one bookie, one broker and the coordinator in this process
 * (see README.md). Prints the service and admin URLs once the broker serves; Ctrl-C (SIGINT) or
 * SIGTERM stops everything cleanly, a second signal exits at once.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../../lib/config/index.ts';
import { isMagnetarError } from '../../lib/errors/index.ts';
import { applyServiceGcTuning } from '../../lib/util/gc-tuning.ts';
import { describeStandaloneConfig, loadStandaloneConfig, standaloneSettings } from './config.ts';
import { type Standalone, standaloneLogger, startStandalone } from './standalone.ts';

// Set before anything allocates (see lib/util/gc-tuning.ts).
applyServiceGcTuning();

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function program(): Command {
  const cmd = new Command('magnetar standalone')
    .description(
      'Run a standalone Magnetar: one bookie, one broker and the coordinator in one process, with the\n' +
        'public/default namespace ready. Settings also come from MAGNETAR_STANDALONE_<NAME> or --config.',
    )
    .option('--config <file>', 'YAML or JSON file of standalone settings')
    .option('--describe-config', 'print the settings table (markdown) and exit')
    .exitOverride();
  for (const [name, s] of Object.entries(standaloneSettings)) {
    cmd.option(`--${kebab(name)} <value>`, `${s.doc} (default: ${JSON.stringify(s.default)})`);
  }
  return cmd;
}

async function main(argv: string[]): Promise<number> {
  const cmd = program();
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError)
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' ? 0 : 2;
    throw err;
  }
  if (cmd.opts().describeConfig) {
    process.stdout.write(`${describeStandaloneConfig()}\n`);
    return 0;
  }
  let cfg: ReturnType<typeof loadStandaloneConfig>;
  try {
    cfg = loadStandaloneConfig({ argv, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`magnetar standalone: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { log, path } = standaloneLogger(cfg);
  let standalone: Standalone;
  try {
    standalone = await startStandalone(cfg, { logger: log });
  } catch (err) {
    const why = isMagnetarError(err) ? err.message : ((err as Error)?.stack ?? String(err));
    log.fatal({ err }, 'standalone failed to start');
    process.stderr.write(`magnetar standalone failed to start: ${why}\n(logs: ${path})\n`);
    return 1;
  }
  const readyMs = Math.round(performance.now());
  process.stdout.write(
    [
      `Magnetar standalone is ready (${readyMs} ms after process start)`,
      `  service URL  ${standalone.serviceUrl}`,
      `  admin URL    ${standalone.adminUrl}`,
      `  data         ${standalone.dataDir}`,
      `  logs         ${path}`,
      ...(standalone.created.length > 0 ? [`  created      ${standalone.created.join(', ')}`] : []),
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stdout.write(`stopping (${signal})...\n`);
    log.info({ signal }, 'standalone stopping');
    standalone.close().then(
      () => {
        log.info('standalone stopped');
        log.flush?.();
        process.stdout.write('stopped\n');
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`unclean stop: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  return -1;
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
