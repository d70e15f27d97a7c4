/**
 * Entry point of the ledger client. Services call `connectLedgerClient` with their metadata store
 * and cluster name; tests and the simulation build one from parts with `createLedgerClient`.
 */
import { IdAllocator } from '../metadata/id-allocator.ts';
import * as keys from '../metadata/keys.ts';
import type { MetadataStore } from '../metadata/store.ts';
import type { LedgerClient } from './api.ts';
import { createLedgerClient, type LedgerClientImpl } from './driver/client.ts';
import { metadataLedgerStore } from './driver/meta-store.ts';
import { type BookieRegistry, watchBookieRegistry } from './driver/registry.ts';
import { GrpcBookieTransport } from './grpc/grpc-transport.ts';
import { type LedgerLimits, ledgerLimits } from './limits.ts';
import type { PlacementPolicy } from './protocol/placement.ts';

export type * from './api.ts';
export { createLedgerClient, type LedgerClientDeps, type LedgerClientImpl } from './driver/client.ts';
export { type LedgerMetaStore, metadataLedgerStore } from './driver/meta-store.ts';
export { type BookieInfo, type BookieRegistry, watchBookieRegistry } from './driver/registry.ts';
export type { BookieTransport, ReplyStatus } from './driver/transport.ts';
export { GrpcBookieTransport, type GrpcTransportOptions } from './grpc/grpc-transport.ts';
export { decodeMeta, encodeMeta, type LedgerMeta, type VersionedMeta } from './protocol/metadata.ts';
export { LedgerErrors, type LedgerErrorCode } from './errors.ts';
export {
  defaultLedgerLimits,
  describeLedgerLimits,
  type LedgerLimits,
  ledgerLimits,
  ledgerLimitsSpec,
} from './limits.ts';
export { type PlacementPolicy, randomPlacement, spreadPlacement } from './protocol/placement.ts';

export interface ConnectOptions {
  readonly store: MetadataStore;
  /** The cluster whose bookies and ledgers to use (metadata key scope). */
  readonly cluster: string;
  readonly limits?: Partial<LedgerLimits>;
  readonly placement?: PlacementPolicy;
  /** Ledger ids reserved per counter CAS. */
  readonly idBatchSize?: number;
  readonly onRegistryError?: (err: Error) => void;
  /** Protocol events (ledger created, ensemble changed, recovery passes, failed appends) for logs. */
  readonly trace?: (event: string, details: Record<string, unknown>) => void;
}

/** A client on real bookies (gRPC) and the shared metadata store; close() releases everything. */
export async function connectLedgerClient(
  o: ConnectOptions,
): Promise<LedgerClientImpl & { readonly registry: BookieRegistry }> {
  const limits = ledgerLimits(o.limits ?? {});
  const registry = await watchBookieRegistry({
    store: o.store,
    writablePrefix: keys.bookieRegistrationsPrefix(o.cluster, 'writable'),
    readOnlyPrefix: keys.bookieRegistrationsPrefix(o.cluster, 'readonly'),
    onWatchError: o.onRegistryError,
  });
  const ids = new IdAllocator(o.store, {
    key: keys.ledgerIdCounter(o.cluster),
    batchSize: o.idBatchSize ?? 100,
  });
  const transport = new GrpcBookieTransport({ resolve: (id) => registry.get(id)?.grpcAddress, limits });
  const client = createLedgerClient({
    store: metadataLedgerStore({
      store: o.store,
      ledgerKey: (id) => keys.ledger(o.cluster, id),
      allocateLedgerId: () => ids.next(),
    }),
    registry,
    transport,
    limits,
    placement: o.placement,
    ownsTransport: true,
    trace: o.trace,
  });
  return {
    ...client,
    registry,
    async close() {
      await client.close();
      await registry.close();
    },
  };
}

export type { LedgerClient };
