/**
 * `node services/coordinator/main.ts [--config file.yaml] [--metadata-url etcd://...] [--http-port 8090] ...`
 * Every setting is in config.ts (also as MAGNETAR_COORDINATOR_* environment variables).
 * SIGTERM/SIGINT: resign leadership and stop cleanly; a second signal exits at once.
 */
import { hostname } from 'node:os';
import { ConfigError, loadConfig } from '../../lib/config/index.ts';
import { createLogger } from '../../lib/log/index.ts';
import { autorecoveryDuty } from './autorecovery/duty.ts';
import { openLedgerAccess } from './autorecovery/ledger-access.ts';
import { coordinatorConfigSpec } from './config.ts';
import { startCoordinator } from './coordinator.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig<typeof coordinatorConfigSpec>>;
  try {
    config = loadConfig('coordinator', coordinatorConfigSpec, {
      argv: process.argv.slice(2),
      env: process.env,
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({
    service: 'coordinator',
    node: config.coordinatorId || `${hostname()}:${config.httpPort}`,
  });
  const coordinator = await startCoordinator(config, {
    log,
    duties: config.autorecoveryEnabled ? [autorecoveryDuty(openLedgerAccess)] : [],
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'stopping coordinator');
    coordinator.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: (err as Error).message }, 'coordinator did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`coordinator failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
