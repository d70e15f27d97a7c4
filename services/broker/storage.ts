/**
 * Storage for persistent topics: a ledger client on the cluster's bookies (registered in the
 * metadata store) and the managed-ledger factory over it, configured from the broker's embedded
 * managed-ledger settings.
 */
import type { Logger } from '../../lib/log/index.ts';
import { connectLedgerClient } from '../../lib/ledger/index.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import type { BrokerConfig } from './config.ts';
import type { ManagedLedgerFactory } from './managed-ledger/api.ts';
import { ManagedLedgerFactoryImpl } from './managed-ledger/factory.ts';
import { type ManagedLedgerSettings, managedLedgerSettings } from './managed-ledger/limits.ts';

export interface Storage {
  readonly managedLedgers: ManagedLedgerFactory;
  close(): Promise<void>;
}

export async function openStorage(config: BrokerConfig, store: MetadataStore, log: Logger): Promise<Storage> {
  const client = await connectLedgerClient({
    store,
    cluster: config.clusterName,
    // One id per counter CAS: a takeover never burns a batch of ids below the old owner's
    // (managed-ledger README, "Ledger ids must grow along the list").
    idBatchSize: 1,
    onRegistryError: (err) => log.warn({ err }, 'bookie registry watch error'),
  });
  const settings = Object.fromEntries(
    Object.keys(managedLedgerSettings).map((k) => [k, (config as Record<string, unknown>)[k]]),
  ) as unknown as ManagedLedgerSettings;
  const factory = new ManagedLedgerFactoryImpl({ store, client, cluster: config.clusterName, settings, log });
  return {
    managedLedgers: factory,
    async close() {
      await factory.shutdown();
      await client.close();
    },
  };
}
