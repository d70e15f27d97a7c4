/**
 * Recovery after the writer process is SIGKILLed mid-stream: another process (this test) opens
 * the ledger with recovery and reads back every entry the writer had reported confirmed.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { spawnProcess, stopAll, uniquePrefix } from '../harness/index.ts';
import { connectClient, payloadOf, type RealCluster, startRealCluster } from './real-cluster.ts';

let rc: RealCluster;
let store: MetadataStore;

beforeAll(async () => {
  rc = await startRealCluster({
    etcdEndpoint: inject('etcdEndpoint'),
    prefix: uniquePrefix('ledger-crash'),
    bookies: 3,
  });
  store = await rc.openStore();
});

afterAll(async () => {
  await store?.close();
  await stopAll();
});

describe('writer crash', () => {
  it('a SIGKILLed writer loses nothing it confirmed: another process recovers and reads it all', {
    timeout: 120_000,
  }, async () => {
    const writer = spawnProcess({
      name: 'ledger-writer',
      args: [
        join(import.meta.dirname, 'writer-proc.ts'),
        '--metadata-url',
        rc.metadataUrl,
        '--cluster',
        rc.cluster,
      ],
    });
    const { ledgerId } = JSON.parse(await writer.waitForOutput(/"ledgerId"/, 60_000)) as { ledgerId: number };
    await writer.waitForOutput(/"confirmed":[1-9]\d{4}/, 60_000); // at least 10 000 confirmed
    await writer.kill('SIGKILL');
    const reported = Math.max(
      ...writer
        .logs()
        .split('\n')
        .filter((l) => l.startsWith('{"confirmed"'))
        .map((l) => (JSON.parse(l) as { confirmed: number }).confirmed),
    );
    expect(reported).toBeGreaterThanOrEqual(10_000);

    const client = await connectClient(rc, store, { readConcurrencyMax: 256 });
    const recovered = await client.openLedger(ledgerId, { recovery: true, password: Buffer.from('crash') });
    expect(recovered.closed).toBe(true);
    expect(recovered.lastAddConfirmed).toBeGreaterThanOrEqual(reported);
    const entries = await recovered.read(0, recovered.lastAddConfirmed);
    entries.forEach((e, i) => {
      if (e.entryId !== i || !Buffer.from(e.payload).equals(payloadOf(i)))
        throw new Error(`entry ${i} is wrong`);
    });
    // A second recoverer agrees on the same last entry.
    const again = await client.openLedger(ledgerId, { recovery: true, password: Buffer.from('crash') });
    expect(again.lastAddConfirmed).toBe(recovered.lastAddConfirmed);
    await client.close();
  });
});
