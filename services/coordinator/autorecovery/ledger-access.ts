/**
 * The ledger layer as autorecovery needs it, over real bookies: the gRPC bookie transport and
 * fencing through the ledger client's recovery open (lib/ledger/index.ts).
 */
import { connectLedgerClient } from '../../../lib/ledger/index.ts';
import type { DutyContext } from '../coordinator.ts';
import type { LedgerAccess } from './duty.ts';

export async function openLedgerAccess(ctx: DutyContext): Promise<LedgerAccess> {
  const client = await connectLedgerClient({
    store: ctx.store,
    cluster: ctx.config.cluster,
    onRegistryError: (err) => ctx.log.warn({ err: err.message }, 'bookie registry watch failed'),
  });
  return {
    transport: client.context.transport,
    async fence(ledgerId, password) {
      const handle = await client.openLedger(ledgerId, { recovery: true, password });
      await handle.release();
    },
    close: () => client.close(),
  };
}
