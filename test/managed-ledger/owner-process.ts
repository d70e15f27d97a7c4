/**
 * A topic owner in its own process, for crash tests: opens the managed ledger, appends, sets up
 * cursor state, flushes it, reports (one JSON line per fact on stdout), then keeps appending and
 * acking without flushing until it is killed.
 *
 *   node owner-process.ts <metadataUrl> <cluster> <topic>
 *
 * Lines: {"event":"flushed", cursor state...} once, then {"event":"confirmed","i":N,"ledgerId","entryId"}
 * for every later append. Entry i always holds the payload `payloadOf(i)`.
 */
import { connectLedgerClient } from '../../lib/ledger/index.ts';
import { openMetadataStore } from '../../lib/metadata/index.ts';
import type { Position } from '../../services/broker/managed-ledger/api.ts';
import { createManagedLedgerFactory } from '../../services/broker/managed-ledger/factory.ts';

export const payloadOf = (i: number) => new TextEncoder().encode(`entry-${i}`);

async function main(): Promise<void> {
  const [metadataUrl, cluster, topic] = process.argv.slice(2);
  const store = await openMetadataStore(metadataUrl);
  const client = await connectLedgerClient({ store, cluster });
  while (client.registry.writable().length < 2) await new Promise((r) => setTimeout(r, 50));
  const factory = createManagedLedgerFactory({
    store,
    client,
    cluster,
    settings: {
      defaultEnsembleSize: 2,
      defaultWriteQuorum: 2,
      defaultAckQuorum: 2,
      defaultMaxEntriesPerLedger: 50,
      defaultMinLedgerRolloverTimeMs: 0,
      // Only explicit flushes persist cursor state here: later acks must be lost by the kill.
      markDeleteRatePerSecond: 0.001,
    },
  });
  const ml = await factory.open(topic);
  const sub = await ml.openCursor('sub', {
    initialPosition: 'Earliest',
    cursorProperties: { owner: 'child' },
  });
  const dedup = await ml.openCursor('pulsar.dedup', { initialPosition: 'Earliest' });
  const ps: Position[] = [];
  for (let i = 0; i < 150; i++) ps.push(await ml.append(payloadOf(i)));
  await sub.markDelete(ps[9]);
  const holes: Position[] = [];
  for (let i = 20; i < 130; i += 3) holes.push(ps[i]);
  await sub.delete(holes);
  await sub.deleteBatchIndexes(ps[15], 8, [1, 3, 5]);
  await sub.deleteBatchIndexes(ps[100], 4, [0]);
  await dedup.markDelete(ps[149], { 'producer-a': 149n, 'producer-b': 7n });
  await sub.flush();
  await dedup.flush();
  const report = {
    event: 'flushed',
    entries: ps.length,
    sub: {
      markDelete: sub.markDeletePosition,
      ranges: sub.individuallyDeletedRanges(),
      batch15: sub.ackedBatchIndexes(ps[15]),
      batch100: sub.ackedBatchIndexes(ps[100]),
      backlog: sub.getNumberOfEntriesInBacklog(),
      positions: { p15: ps[15], p100: ps[100] },
    },
    dedup: {
      markDelete: dedup.markDeletePosition,
      properties: Object.fromEntries(Object.entries(dedup.properties).map(([k, v]) => [k, String(v)])),
    },
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  // Keep going until killed: appends are confirmed (and reported), acks are never flushed.
  for (let i = 150; ; i++) {
    const p = await ml.append(payloadOf(i));
    process.stdout.write(`${JSON.stringify({ event: 'confirmed', i, ...p })}\n`);
    await sub.markDelete(p);
  }
}

main().catch((err) => {
  process.stderr.write(`owner failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
