/**
 * The ledger id watermark of a data loss (storage/limbo.ts): the ledger id allocator's counter,
 * read from the metadata store after the bookie lost data. Every id handed out before the read
 * lies below it (ids come from batches reserved by CAS on the counter, which only grows), so a
 * ledger at or above it was created after the loss and cannot have been held or fenced here.
 * Undefined when it cannot be known: then the limbo covers every ledger (safe, less live).
 */
import { fromBinary } from '@bufbuild/protobuf';
import { LedgerMetadataSchema, LedgerState } from '../../../lib/gen/magnetar/meta/v1/meta_pb.ts';
import { keys } from '../../../lib/metadata/index.ts';
import type { MetadataStore } from '../../../lib/metadata/store.ts';

export async function readLedgerIdWatermark(
  store: MetadataStore | undefined,
  clusterName: string,
): Promise<number | undefined> {
  if (!store) return undefined;
  const entry = await store.get(keys.ledgerIdCounter(clusterName));
  // No counter: no ledger was allocated here, or ids come from elsewhere; assume nothing.
  if (!entry) return undefined;
  const text = new TextDecoder().decode(entry.value).trim();
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Whether the ledger's metadata says OPEN now (a linearizable read). A fence is only ever sent
 * after a recoverer moved the metadata to IN_RECOVERY, and the state never returns to OPEN, so a
 * ledger that is OPEN after the data loss was never fenced: this bookie cannot have forgotten a
 * fence of it, and may take its normal adds even though its entries stay in limbo for reads.
 * Absent or unreadable metadata answers false (keep refusing).
 */
export async function ledgerOpenInMetadata(
  store: MetadataStore,
  clusterName: string,
  ledgerId: number,
): Promise<boolean> {
  const entry = await store.get(keys.ledger(clusterName, ledgerId));
  if (!entry) return false;
  try {
    return fromBinary(LedgerMetadataSchema, entry.value).state === LedgerState.OPEN;
  } catch {
    return false;
  }
}
