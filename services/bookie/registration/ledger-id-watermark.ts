/**
 * The ledger id watermark of a data loss (storage/limbo.ts): the ledger id allocator's counter,
 * read from the metadata store after the bookie lost data. Every id handed out before the read
 * lies below it (ids come from batches reserved by CAS on the counter, which only grows), so a
 * ledger at or above it was created after the loss and cannot have been held or fenced here.
 * Undefined when it cannot be known: then the limbo covers every ledger (safe, less live).
 */
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
