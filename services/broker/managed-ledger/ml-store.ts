/**
 * Metadata-store access of one broker's managed ledgers: the ledger-list key (CAS on its
 * version) and the cursor keys, written in a transaction that also checks the ledger-list
 * version this instance holds. A new owner's first CAS of the list therefore fences every
 * later cursor write of the old owner too, without touching the cursor keys.
 *
 * Write outcomes (lib/metadata/errors.ts): UNAVAILABLE = not applied, retried with backoff;
 * TIMEOUT = unknown, resolved by re-reading the key (our own bytes there = success).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { MagnetarError } from '../../../lib/errors/index.ts';
import { MetadataErrors } from '../../../lib/metadata/errors.ts';
import * as keys from '../../../lib/metadata/keys.ts';
import type { MetadataStore, TxnOp, Version } from '../../../lib/metadata/store.ts';
import { mlErrors } from './errors.ts';
import { backoffMs, type ManagedLedgerSettings } from './limits.ts';

export type Expected = Version | 'absent';

/** A lost CAS: another writer changed the key. The managed ledger is fenced. */
export function isConflict(err: unknown): boolean {
  return (
    MetadataErrors.is(err, 'BAD_VERSION') ||
    MetadataErrors.is(err, 'KEY_EXISTS') ||
    MetadataErrors.is(err, 'NO_SUCH_KEY')
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a).equals(Buffer.from(b));
}

export class MlStore {
  readonly store: MetadataStore;
  readonly cluster: string;
  private readonly settings: ManagedLedgerSettings;

  constructor(store: MetadataStore, cluster: string, settings: ManagedLedgerSettings) {
    this.store = store;
    this.cluster = cluster;
    this.settings = settings;
  }

  ledgerKey(name: string): string {
    return keys.managedLedger(this.cluster, name);
  }

  cursorKey(name: string, cursor: string): string {
    return keys.cursor(this.cluster, name, cursor);
  }

  /** Validate names early (INVALID_NAME instead of a metadata error later). */
  checkNames(name: string, cursor?: string): void {
    try {
      this.ledgerKey(name);
      if (cursor !== undefined) this.cursorKey(name, cursor);
    } catch (err) {
      throw mlErrors.make('INVALID_NAME', { name: cursor ?? name, reason: (err as Error).message }, err);
    }
  }

  async get(key: string, name: string): Promise<{ value: Uint8Array; version: Version } | undefined> {
    const e = await this.retry(name, 'get', () => this.store.get(key));
    return e && { value: e.value, version: e.version };
  }

  async listCursorNames(name: string): Promise<string[]> {
    const entries = await this.retry(name, 'list cursors', () =>
      this.store.listAll(keys.cursorsPrefix(this.cluster, name), { keysOnly: true }),
    );
    const out: string[] = [];
    for (const e of entries) {
      const parsed = keys.parseCursorKey(e.key);
      if (parsed && parsed.managedLedgerName === name) out.push(parsed.cursorName);
    }
    return out;
  }

  /** CAS-write the ledger list. Conflicts surface as the metadata error (caller fences). */
  async putLedgerList(name: string, value: Uint8Array, expected: Expected): Promise<Version> {
    const key = this.ledgerKey(name);
    return this.resolvedWrite(name, key, value, () =>
      this.store.put(key, value, { expectedVersion: expected }),
    );
  }

  /**
   * CAS-write a cursor key while checking that the ledger list is still at `ledgerListVersion`.
   * A conflict on either key surfaces as the metadata error (the caller decides: a moved ledger
   * list version of our own making is retried by the caller with the new version).
   */
  async putCursor(
    name: string,
    cursor: string,
    value: Uint8Array,
    expected: Expected,
    ledgerListVersion: Version,
  ): Promise<Version> {
    const key = this.cursorKey(name, cursor);
    const ops: TxnOp[] = [
      { op: 'check', key: this.ledgerKey(name), expectedVersion: ledgerListVersion },
      { op: 'put', key, value, expectedVersion: expected },
    ];
    return this.resolvedWrite(name, key, value, async () => {
      const versions = await this.store.txn(ops);
      return versions[1] as Version;
    });
  }

  async deleteCursor(
    name: string,
    cursor: string,
    expected: Version,
    ledgerListVersion: Version,
  ): Promise<void> {
    const key = this.cursorKey(name, cursor);
    await this.retry(name, 'delete cursor', async () => {
      try {
        await this.store.txn([
          { op: 'check', key: this.ledgerKey(name), expectedVersion: ledgerListVersion },
          { op: 'delete', key, expectedVersion: expected },
        ]);
      } catch (err) {
        // A timed-out delete that did apply leaves the key absent: that is success.
        if (MetadataErrors.is(err, 'TIMEOUT') && !(await this.store.get(key))) return;
        throw err;
      }
    });
  }

  /** Remove every key of a managed ledger (its ledgers must already be gone). */
  async deleteAllKeys(name: string, expected: Version): Promise<void> {
    await this.retry(name, 'delete cursors', () =>
      this.store.deletePrefix(keys.cursorsPrefix(this.cluster, name)),
    );
    await this.retry(name, 'delete ledger list', async () => {
      try {
        await this.store.delete(this.ledgerKey(name), { expectedVersion: expected });
      } catch (err) {
        if (MetadataErrors.is(err, 'TIMEOUT') && !(await this.store.get(this.ledgerKey(name)))) return;
        throw err;
      }
    });
  }

  /**
   * Run a write; retry UNAVAILABLE (not applied); on TIMEOUT or on a conflict that follows an
   * ambiguous attempt, re-read the key: if it holds exactly our bytes, the write applied.
   */
  private async resolvedWrite(
    name: string,
    key: string,
    value: Uint8Array,
    write: () => Promise<Version>,
  ): Promise<Version> {
    let ambiguous = false;
    for (let attempt = 0; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        const timeout = MetadataErrors.is(err, 'TIMEOUT');
        if (timeout || (ambiguous && isConflict(err))) {
          const cur = await this.retry(name, 'get', () => this.store.get(key));
          if (cur && sameBytes(cur.value, value)) return cur.version;
          if (!timeout) throw err;
          ambiguous = true;
        } else if (!MetadataErrors.is(err, 'UNAVAILABLE')) {
          throw err;
        }
        if (attempt + 1 >= this.settings.metadataAttempts)
          throw mlErrors.make('METADATA_ERROR', { name, reason: (err as Error).message }, err);
        await sleep(backoffMs(this.settings, attempt));
      }
    }
  }

  /** Retry a read-only or idempotent call on UNAVAILABLE / TIMEOUT. */
  private async retry<T>(name: string, what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const transient = MetadataErrors.is(err, 'UNAVAILABLE') || MetadataErrors.is(err, 'TIMEOUT');
        if (!transient) throw err;
        if (attempt + 1 >= this.settings.metadataAttempts)
          throw mlErrors.make(
            'METADATA_ERROR',
            { name, reason: `${what}: ${(err as MagnetarError).message}` },
            err,
          );
        await sleep(backoffMs(this.settings, attempt));
      }
    }
  }
}
