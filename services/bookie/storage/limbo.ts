/**
 * The bookie-wide limbo marker (file LIMBO in the ledger dir). It is written when this bookie may
 * have lost acknowledged entries without knowing which ledgers they belonged to: it started on
 * wiped or replaced dirs (dataLossRecovery), or its journal lost records in the middle. While it
 * is there, a ledger this bookie does not know is answered UNKNOWN_LEDGER_STATE instead of
 * NO_LEDGER, and every ledger it knows or learns of is in limbo (never "no such entry", and
 * normal adds are refused: the bookie may have forgotten a fence it had taken, unless the
 * ledger's metadata is still OPEN, see LedgerStorage.limboCheck).
 * Only an operator removes it, once the auditor has re-replicated the ledgers.
 *
 * Scope: the marker records the ledger id allocator's counter as read after the loss
 * (`ledgerIdWatermark`). Ledger ids are handed out from batches reserved by CAS on that counter,
 * which only grows, so a ledger whose id is at or above it was created after the loss: this
 * bookie never held it nor fenced it, and it is not in limbo. Without a watermark (no metadata
 * store, or no counter found) every ledger is in scope.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from '../journal/files.ts';

const NAME = 'LIMBO';

export interface LimboMarker {
  readonly sinceMs: number;
  readonly reason: string;
  /** Ledger ids at or above this were allocated after the loss (absent: every ledger is in scope). */
  readonly ledgerIdWatermark?: number;
}

/** Whether the bookie-wide limbo covers `ledgerId` (it may have held or fenced it before the loss). */
export function limboCovers(marker: LimboMarker | undefined, ledgerId: number): boolean {
  if (!marker) return false;
  const w = marker.ledgerIdWatermark;
  return !(typeof w === 'number' && Number.isSafeInteger(w) && w >= 0 && ledgerId >= w);
}

export async function readLimbo(ledgerDir: string): Promise<LimboMarker | undefined> {
  try {
    return JSON.parse(await readFile(join(ledgerDir, NAME), 'utf8')) as LimboMarker;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // An unreadable marker still means "data may be lost".
    return { sinceMs: 0, reason: `unreadable LIMBO marker: ${(e as Error).message}` };
  }
}

export async function writeLimbo(
  ledgerDir: string,
  reason: string,
  ledgerIdWatermark: number | undefined,
): Promise<LimboMarker> {
  const marker: LimboMarker =
    ledgerIdWatermark === undefined
      ? { sinceMs: Date.now(), reason }
      : { sinceMs: Date.now(), reason, ledgerIdWatermark };
  const fh = await open(join(ledgerDir, NAME), 'w');
  try {
    await fh.writeFile(JSON.stringify(marker));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(ledgerDir);
  return marker;
}
