/**
 * Ledger metadata persistence: one key per ledger holding its LedgerMetadata, every change a CAS
 * on the key's version (internals.md §1.10). Implemented over the shared MetadataStore (etcd or
 * embedded); the key layout and the id allocator are injected so this file depends on nothing but
 * the store contract.
 */
import type { MetadataStore } from '../../metadata/store.ts';
import { errorCode, ledgerError } from '../errors.ts';
import { decodeMeta, encodeMeta, type LedgerMeta, type VersionedMeta } from '../protocol/metadata.ts';

export interface LedgerMetaStore {
  allocateLedgerId(): Promise<number>;
  /** Create-if-absent; returns the version. */
  create(meta: LedgerMeta): Promise<number>;
  read(ledgerId: number): Promise<VersionedMeta | undefined>;
  /** CAS on `expectedVersion`; throws BAD_VERSION, NO_SUCH_LEDGER or METADATA_UNAVAILABLE. */
  write(meta: LedgerMeta, expectedVersion: number): Promise<number>;
  /** True if it existed. */
  remove(ledgerId: number): Promise<boolean>;
}

export interface MetadataLedgerStoreOptions {
  readonly store: MetadataStore;
  /** The key of a ledger's metadata (lib/metadata/keys.ts). */
  readonly ledgerKey: (ledgerId: number) => string;
  readonly allocateLedgerId: () => Promise<number>;
}

export function metadataLedgerStore(opts: MetadataLedgerStoreOptions): LedgerMetaStore {
  const { store, ledgerKey } = opts;
  return {
    allocateLedgerId: () => opts.allocateLedgerId(),
    async create(meta) {
      try {
        return await store.put(ledgerKey(meta.ledgerId), encodeMeta(meta), { expectedVersion: 'absent' });
      } catch (e) {
        throw mapStoreError(e, meta.ledgerId);
      }
    },
    async read(ledgerId) {
      let entry: Awaited<ReturnType<MetadataStore['get']>>;
      try {
        entry = await store.get(ledgerKey(ledgerId));
      } catch (e) {
        throw mapStoreError(e, ledgerId);
      }
      return entry === undefined
        ? undefined
        : { meta: decodeMeta(entry.value, ledgerId), version: entry.version };
    },
    async write(meta, expectedVersion) {
      try {
        return await store.put(ledgerKey(meta.ledgerId), encodeMeta(meta), { expectedVersion });
      } catch (e) {
        throw mapStoreError(e, meta.ledgerId);
      }
    },
    async remove(ledgerId) {
      try {
        return await store.delete(ledgerKey(ledgerId));
      } catch (e) {
        throw mapStoreError(e, ledgerId);
      }
    },
  };
}

/** Store errors (lib/metadata's registry) to ledger errors, by code. */
function mapStoreError(e: unknown, ledgerId: number): unknown {
  switch (errorCode(e)) {
    case 'BAD_VERSION':
    case 'KEY_EXISTS':
      return ledgerError('BAD_VERSION', { ledgerId }, e);
    case 'NO_SUCH_KEY':
      return ledgerError('NO_SUCH_LEDGER', { ledgerId }, e);
    case 'UNAVAILABLE':
    case 'TIMEOUT':
      return ledgerError('METADATA_UNAVAILABLE', { ledgerId }, e);
    default:
      return e;
  }
}
