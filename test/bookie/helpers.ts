/** Start real bookie processes for integration tests and talk to them over gRPC. */
import { join } from 'node:path';
import { BOOKIE_MAIN, LOOPBACK_BOOKIE_ARGS } from '../harness/bookie-process.ts';
import { type ServiceProcess, spawnProcess, tempDir } from '../harness/index.ts';
import { expect } from 'vitest';
import { Status } from '../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { BookieTestClient, envelopeFor, payloadFor } from '../../services/bookie/testing/client.ts';

export interface BookieDirs {
  readonly journalDir: string;
  readonly ledgerDir: string;
}

export function bookieDirs(): BookieDirs {
  const root = tempDir('bookie-');
  return { journalDir: join(root, 'journal'), ledgerDir: join(root, 'ledgers') };
}

export interface RunningBookie {
  readonly proc: ServiceProcess;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly address: string;
  readonly client: BookieTestClient;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Small files so that tests exercise rotation, checkpoints and compaction quickly. */
export const SMALL_STORAGE = [
  '--journal-file-bytes',
  String(8 * 1024 * 1024),
  '--max-entry-bytes',
  String(1024 * 1024),
  '--write-cache-max-bytes',
  String(16 * 1024 * 1024),
];

export function bookieArgs(name: string, dirs: BookieDirs, extra: string[] = []): string[] {
  return [
    BOOKIE_MAIN,
    '--bookie-id',
    name,
    ...LOOPBACK_BOOKIE_ARGS,
    '--journal-dir',
    dirs.journalDir,
    '--ledger-dir',
    dirs.ledgerDir,
    ...SMALL_STORAGE,
    ...extra,
  ];
}

export async function startBookieProcess(
  name: string,
  dirs: BookieDirs,
  extra: string[] = [],
): Promise<RunningBookie> {
  const proc = spawnProcess({
    name,
    args: bookieArgs(name, dirs, extra),
    env: { MAGNETAR_LOG_LEVEL: 'info' },
  });
  const line = await proc.waitForOutput(/"msg":"bookie ready"/, 60_000);
  const ready = JSON.parse(line) as { grpcPort: number; httpPort: number };
  const address = `127.0.0.1:${ready.grpcPort}`;
  const client = new BookieTestClient(address);
  return {
    proc,
    grpcPort: ready.grpcPort,
    httpPort: ready.httpPort,
    address,
    client,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      client.close();
      await proc.kill(signal);
    },
  };
}

/** Start a bookie that must fail; resolves with its log once it exited. */
export async function expectStartFailure(
  name: string,
  dirs: BookieDirs,
  extra: string[] = [],
): Promise<string> {
  const proc = spawnProcess({ name, args: bookieArgs(name, dirs, extra) });
  const { code } = await proc.exited;
  if (code === 0) throw new Error(`${name} exited 0; expected a failure`);
  return proc.logs();
}

export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Read every ledger's entries back with ReadRange and compare them byte for byte. */
export async function verifyAcked(
  b: RunningBookie,
  acked: Map<number, Set<number>>,
  bytesOf: (l: number, e: number) => number,
) {
  let checked = 0;
  for (const [ledgerId, entries] of acked) {
    const ids = [...entries].sort((a, c) => a - c);
    let next = 0;
    while (next < ids.length) {
      const res = await b.client.readRange({
        ledgerId: BigInt(ledgerId),
        firstEntryId: BigInt(ids[next]),
        maxEntries: 5000,
      });
      expect(res.status, `ledger ${ledgerId} from ${ids[next]}`).toBe(Status.OK);
      for (const body of res.bodies) {
        const entryId = Number(Buffer.from(body).readBigInt64BE(8));
        if (entries.has(entryId)) {
          const want = envelopeFor(
            ledgerId,
            entryId,
            payloadFor(ledgerId, entryId, bytesOf(ledgerId, entryId)),
          );
          expect(Buffer.from(body).equals(want), `entry ${ledgerId}/${entryId}`).toBe(true);
          checked++;
        }
        while (next < ids.length && ids[next] <= entryId) next++;
      }
      if (res.bodies.length === 0) break;
    }
    expect(next, `ledger ${ledgerId}: acked entries missing after ${ids[next]}`).toBe(ids.length);
  }
  return checked;
}
