/**
 * Bookie process: `node services/bookie/main.ts [--flags]` (settings: README.md, or
 * `--describe-config`). Logs one JSON line with msg "bookie ready" and the bound ports once it
 * serves; SIGTERM/SIGINT shut it down cleanly; a storage failure exits with code 1.
 */
import { isMagnetarError } from '../../lib/errors/index.ts';
import { createLogger } from '../../lib/log/index.ts';
import { applyServiceGcTuning } from '../../lib/util/gc-tuning.ts';
import { startBookie } from './bookie.ts';
import { describeBookieConfig, loadBookieConfig } from './config.ts';

// Set before anything allocates (see lib/util/gc-tuning.ts).
applyServiceGcTuning();

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--describe-config')) {
    process.stdout.write(`${describeBookieConfig()}\n`);
    return;
  }
  let cfg: ReturnType<typeof loadBookieConfig>;
  try {
    cfg = loadBookieConfig({ argv, env: process.env });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger({ service: 'bookie', node: cfg.bookieId, level: cfg.logLevel });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled rejection');
    process.exit(1);
  });
  let bookie: Awaited<ReturnType<typeof startBookie>>;
  try {
    bookie = await startBookie(cfg, {
      logger: log,
      onFatal: () => {
        // The journal or a checkpoint failed: restarting replays from the last good checkpoint.
        setTimeout(() => process.exit(1), 100);
      },
    });
  } catch (err) {
    const code = isMagnetarError(err) ? err.code : 'BOOKIE_START_FAILED';
    log.fatal({ err, code }, 'bookie failed to start');
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    bookie.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
