/**
 * The bookie-wide limbo marker (file LIMBO in the ledger dir). It is written when this bookie may
 * have lost acknowledged entries without knowing which ledgers they belonged to: it started on
 * wiped or replaced dirs (dataLossRecovery), or its journal lost records in the middle. While it
 * is there, a ledger this bookie does not know is answered UNKNOWN_LEDGER_STATE instead of
 * NO_LEDGER, and every ledger it knows or learns of is in limbo (never "no such entry").
 * Only an operator removes it, once the auditor has re-replicated the ledgers.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from '../journal/files.ts';

const NAME = 'LIMBO';

export interface LimboMarker {
  readonly sinceMs: number;
  readonly reason: string;
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

export async function writeLimbo(ledgerDir: string, reason: string): Promise<LimboMarker> {
  const marker = { sinceMs: Date.now(), reason };
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
