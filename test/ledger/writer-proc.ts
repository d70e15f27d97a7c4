/**
 * A writer process for the crash test: creates a ledger (E=3 Qw=2 Qa=2), prints its id, then
 * appends payloadOf(i) and prints the highest confirmed entry id as it goes, until killed.
 *   node test/ledger/writer-proc.ts --metadata-url etcd://host:port/prefix --cluster c
 */
import { parseArgs } from 'node:util';
import { connectLedgerClient } from '../../lib/ledger/index.ts';
import { openMetadataStore } from '../../lib/metadata/index.ts';
import { payloadOf } from './real-cluster.ts';

const { values } = parseArgs({
  options: {
    'metadata-url': { type: 'string' },
    cluster: { type: 'string' },
    bookies: { type: 'string', default: '3' },
  },
});
const store = await openMetadataStore(values['metadata-url']!);
const client = await connectLedgerClient({ store, cluster: values.cluster! });
while (client.registry.writable().length < Number(values.bookies))
  await new Promise((r) => setTimeout(r, 50));
const ledger = await client.createLedger({
  ensembleSize: 3,
  writeQuorum: 2,
  ackQuorum: 2,
  password: Buffer.from('crash'),
});
process.stdout.write(`${JSON.stringify({ ledgerId: ledger.id })}\n`);
let confirmed = -1;
let next = 0;
setInterval(() => process.stdout.write(`${JSON.stringify({ confirmed })}\n`), 20);
const worker = async () => {
  for (;;) {
    const id = await ledger.append(payloadOf(next++));
    confirmed = Math.max(confirmed, id);
  }
};
await Promise.all(Array.from({ length: 500 }, worker));
