/** Bookie processes for the autorecovery tests (services/bookie/main.ts), with known data dirs. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type ServiceProcess, spawnProcess, tempDir } from '../harness/index.ts';

const BOOKIE_MAIN = join(import.meta.dirname, '../../services/bookie/main.ts');

export interface TestBookie {
  readonly id: string;
  readonly dataDir: string;
  proc: ServiceProcess;
  /** SIGKILL it and delete everything it stored. */
  destroy(): Promise<void>;
}

export async function startBookies(
  metadataUrl: string,
  cluster: string,
  ids: readonly string[],
): Promise<TestBookie[]> {
  return Promise.all(
    ids.map(async (id) => {
      const dataDir = tempDir(`${id}-`);
      const proc = spawnProcess({
        name: id,
        args: [
          BOOKIE_MAIN,
          ...['--bookie-id', id, '--cluster-name', cluster, '--metadata-url', metadataUrl],
          ...[
            '--bind-host',
            '127.0.0.1',
            '--advertised-host',
            '127.0.0.1',
            '--grpc-port',
            '0',
            '--http-port',
            '0',
          ],
          ...['--journal-dir', join(dataDir, 'journal'), '--ledger-dir', join(dataDir, 'ledgers')],
          ...['--registration-ttl-ms', '2000', '--registration-wait-ms', '10000'],
          ...['--journal-file-bytes', String(16 * 1024 * 1024)],
        ],
        env: { MAGNETAR_LOG_LEVEL: 'warn' },
      });
      await proc.waitForOutput(/"msg":"bookie ready"/, 60_000);
      const b: TestBookie = {
        id,
        dataDir,
        proc,
        async destroy() {
          await b.proc.kill('SIGKILL');
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
      return b;
    }),
  );
}
