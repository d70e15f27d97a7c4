/** Bookie processes for the autorecovery tests (services/bookie/main.ts), with known data dirs. */
import { rmSync } from 'node:fs';
import { spawnBookie } from '../harness/bookie-process.ts';
import { type ServiceProcess, tempDir } from '../harness/index.ts';

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
      const { proc } = await spawnBookie({ id, cluster, metadataUrl, dataDir });
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
