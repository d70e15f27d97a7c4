/**
 * Persistence of one durable cursor (internals.md §4.2): a small metadata key plus, for the
 * frequent flushes, a cursor ledger holding one PositionInfo per flush. The key points to the
 * ledger and also carries a bounded fallback copy of the state.
 *
 * - Flushes append to the cursor ledger (created on the first flush; rolled after
 *   cursorLedgerMaxEntries or cursorLedgerRolloverTimeMs). The key is written only when the
 *   ledger changes, on close, on reset, and on recovery: not once per ack.
 * - Key writes check the ledger-list version of the owning managed ledger, so once another
 *   broker has taken over the topic they fail (fenced).
 * - Recovery opens the cursor ledger WITH recovery (fencing an old owner still appending), takes
 *   its last entry, and falls back to the key's copy if the ledger cannot be read.
 */
import type { Logger } from 'pino';
import type { LedgerClient, WritableLedger } from '../../../lib/ledger/api.ts';
import type { Version } from '../../../lib/metadata/store.ts';
import type { ManagedLedgerConfig } from './api.ts';
import {
  decodeCursorInfo,
  decodePositionInfo,
  encodeCursorInfo,
  encodePositionInfo,
  type StoredCursor,
} from './codec.ts';
import type { CursorSnapshot } from './cursor-state.ts';
import { mlErrors } from './errors.ts';
import type { ManagedLedgerSettings } from './limits.ts';
import { isConflict, type MlStore } from './ml-store.ts';

/** What a cursor store needs from its managed ledger. */
export interface CursorStoreContext {
  readonly name: string;
  readonly meta: MlStore;
  readonly client: LedgerClient;
  readonly settings: ManagedLedgerSettings;
  readonly config: ManagedLedgerConfig;
  readonly password: Uint8Array;
  readonly log: Logger;
  /** Current version of the managed ledger's list key (ownership check). */
  listVersion(): Version;
  now(): number;
}

export interface RecoveredCursor {
  readonly store: CursorStore;
  readonly snapshot: CursorSnapshot;
  readonly cursorProperties: Record<string, string>;
  /** Where the state came from. */
  readonly source: 'key' | 'ledger' | 'key-fallback';
}

export class CursorStore {
  private readonly ctx: CursorStoreContext;
  readonly cursor: string;
  private keyVersion: Version;
  private ledger: WritableLedger | undefined;
  private ledgerCreatedMs = 0;
  /** Ledger the key points to (may differ from `ledger` after a write error). */
  private keyLedgerId: number;
  metadataWrites = 0;
  ledgerWrites = 0;

  private constructor(ctx: CursorStoreContext, cursor: string, keyVersion: Version, keyLedgerId: number) {
    this.ctx = ctx;
    this.cursor = cursor;
    this.keyVersion = keyVersion;
    this.keyLedgerId = keyLedgerId;
  }

  /** Create the key of a new cursor (fails with a conflict if it exists). */
  static async create(
    ctx: CursorStoreContext,
    cursor: string,
    snapshot: CursorSnapshot,
    cursorProperties: Record<string, string>,
  ): Promise<CursorStore> {
    const s = new CursorStore(ctx, cursor, 0, -1);
    const value = encodeCursorInfo({
      cursorLedgerId: -1,
      snapshot,
      cursorProperties,
      lastActiveMs: ctx.now(),
    });
    s.keyVersion = await s.putKey(value, 'absent');
    return s;
  }

  /** Load a cursor's state; re-home it (key or fresh ledger) if it lived in a cursor ledger. */
  static async recover(ctx: CursorStoreContext, cursor: string): Promise<RecoveredCursor | undefined> {
    const e = await ctx.meta.get(ctx.meta.cursorKey(ctx.name, cursor), ctx.name);
    if (!e) return undefined;
    const stored = decodeCursorInfo(e.value, `${ctx.name}/${cursor}`);
    const s = new CursorStore(ctx, cursor, e.version, stored.cursorLedgerId);
    if (stored.cursorLedgerId < 0)
      return {
        store: s,
        snapshot: stored.snapshot,
        cursorProperties: stored.cursorProperties,
        source: 'key',
      };
    let snapshot = stored.snapshot;
    let source: RecoveredCursor['source'] = 'key-fallback';
    try {
      const fromLedger = await s.readLastState(stored.cursorLedgerId);
      if (fromLedger) {
        snapshot = fromLedger;
        source = 'ledger';
      } else source = 'key';
    } catch (err) {
      ctx.log.warn(
        { err, cursor, cursorLedgerId: stored.cursorLedgerId },
        'cursor ledger unrecoverable; falling back to the position in the cursor key',
      );
    }
    await s.writeState(snapshot, stored.cursorProperties);
    return { store: s, snapshot, cursorProperties: stored.cursorProperties, source };
  }

  private async readLastState(ledgerId: number): Promise<CursorSnapshot | undefined> {
    const h = await this.ctx.client.openLedger(ledgerId, { recovery: true, password: this.ctx.password });
    try {
      if (h.lastAddConfirmed < 0) return undefined;
      const [entry] = await h.read(h.lastAddConfirmed, h.lastAddConfirmed);
      return decodePositionInfo(entry.payload, `${this.ctx.name}/${this.cursor}`);
    } finally {
      await h.release().catch(() => undefined);
    }
  }

  private fitsInKey(s: CursorSnapshot, keyValue: Uint8Array): boolean {
    const st = this.ctx.settings;
    return (
      !s.truncated &&
      s.ranges.length <= st.maxAckRangesInKey &&
      s.batchAcks.length <= st.maxBatchAcksInKey &&
      keyValue.byteLength <= st.maxCursorKeyBytes
    );
  }

  private keyValue(snapshot: CursorSnapshot, ledgerId: number, props: Record<string, string>): Uint8Array {
    const st = this.ctx.settings;
    const bounded: CursorSnapshot = {
      ...snapshot,
      ranges: snapshot.ranges.slice(0, st.maxAckRangesInKey),
      batchAcks: snapshot.batchAcks.slice(0, st.maxBatchAcksInKey),
      truncated:
        snapshot.truncated ||
        snapshot.ranges.length > st.maxAckRangesInKey ||
        snapshot.batchAcks.length > st.maxBatchAcksInKey,
    };
    const stored: StoredCursor = {
      cursorLedgerId: ledgerId,
      snapshot: bounded,
      cursorProperties: props,
      lastActiveMs: this.ctx.now(),
    };
    return encodeCursorInfo(stored);
  }

  /**
   * Write the state so the key alone holds it when it fits (the cursor ledger is then deleted),
   * otherwise into a cursor ledger the key points to. Used on close, reset and recovery.
   */
  async writeState(snapshot: CursorSnapshot, cursorProperties: Record<string, string>): Promise<void> {
    const keyOnly = this.keyValue(snapshot, -1, cursorProperties);
    if (this.fitsInKey(snapshot, keyOnly)) {
      this.keyVersion = await this.putKey(keyOnly, this.keyVersion);
      const old = this.keyLedgerId;
      this.keyLedgerId = -1;
      await this.dropLedger(old);
      return;
    }
    await this.appendToLedger(snapshot, cursorProperties);
  }

  /** Flush path: append the state to the cursor ledger (rolling or creating it as needed). */
  async flush(snapshot: CursorSnapshot, cursorProperties: Record<string, string>): Promise<void> {
    await this.appendToLedger(snapshot, cursorProperties);
  }

  private needsNewLedger(): boolean {
    const st = this.ctx.settings;
    if (!this.ledger) return true;
    return (
      this.ledger.lastAddConfirmed + 1 >= st.cursorLedgerMaxEntries ||
      this.ctx.now() - this.ledgerCreatedMs >= st.cursorLedgerRolloverTimeMs
    );
  }

  private async appendToLedger(
    snapshot: CursorSnapshot,
    cursorProperties: Record<string, string>,
  ): Promise<void> {
    const entry = encodePositionInfo(snapshot, this.ctx.now());
    if (this.needsNewLedger()) {
      const fresh = await this.ctx.client.createLedger({
        ensembleSize: this.ctx.config.ensembleSize,
        writeQuorum: this.ctx.config.writeQuorum,
        ackQuorum: this.ctx.config.ackQuorum,
        password: this.ctx.password,
        customMetadata: { component: 'managed-cursor', 'managed-ledger': this.ctx.name, cursor: this.cursor },
      });
      try {
        await fresh.append(entry);
        this.ledgerWrites++;
        this.keyVersion = await this.putKey(
          this.keyValue(snapshot, fresh.id, cursorProperties),
          this.keyVersion,
        );
      } catch (err) {
        await this.ctx.client.deleteLedger(fresh.id).catch(() => undefined);
        throw err;
      }
      const previous = this.ledger;
      const oldKeyLedger = this.keyLedgerId;
      this.ledger = fresh;
      this.ledgerCreatedMs = this.ctx.now();
      this.keyLedgerId = fresh.id;
      if (previous) await previous.close().catch(() => undefined);
      await this.dropLedger(oldKeyLedger);
      if (previous && previous.id !== oldKeyLedger) await this.dropLedger(previous.id);
      return;
    }
    const ledger = this.ledger as WritableLedger;
    try {
      await ledger.append(entry);
      this.ledgerWrites++;
    } catch (err) {
      // The key still points at this ledger and its last good entry; the next flush moves to a
      // new ledger. A fenced ledger means a new owner recovered it: surface that.
      this.ledger = undefined;
      await ledger.close().catch(() => undefined);
      if ((err as { retry?: string }).retry === 'fenced')
        throw mlErrors.make('MANAGED_LEDGER_FENCED', { name: this.ctx.name }, err);
      throw err;
    }
  }

  /** Delete a cursor ledger no key points to any more (best effort: a failure leaves an orphan). */
  private async dropLedger(ledgerId: number): Promise<void> {
    if (ledgerId < 0) return;
    if (this.ledger?.id === ledgerId) {
      const l = this.ledger;
      this.ledger = undefined;
      await l.close().catch(() => undefined);
    }
    await this.ctx.client.deleteLedger(ledgerId).catch((err) => {
      this.ctx.log.warn({ err, cursor: this.cursor, ledgerId }, 'could not delete an old cursor ledger');
    });
  }

  /**
   * CAS the key, checking the ledger-list version. When the list version moved because this
   * managed ledger wrote it meanwhile, retry with the new version; any other conflict = fenced.
   */
  private async putKey(value: Uint8Array, expected: Version | 'absent'): Promise<Version> {
    for (let attempt = 0; ; attempt++) {
      const listVersion = this.ctx.listVersion();
      try {
        const v = await this.ctx.meta.putCursor(this.ctx.name, this.cursor, value, expected, listVersion);
        this.metadataWrites++;
        return v;
      } catch (err) {
        if (!isConflict(err)) throw err;
        if (this.ctx.listVersion() !== listVersion && attempt < 10) continue;
        throw mlErrors.make('MANAGED_LEDGER_FENCED', { name: this.ctx.name }, err);
      }
    }
  }

  /** Delete the cursor ledger(s) only (the whole managed ledger is being deleted). */
  async deleteLedgers(): Promise<void> {
    const ids = new Set([this.keyLedgerId, this.ledger?.id ?? -1]);
    for (const id of ids) await this.dropLedger(id);
  }

  /** Delete the key and the cursor ledger(s). */
  async delete(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const listVersion = this.ctx.listVersion();
      try {
        await this.ctx.meta.deleteCursor(this.ctx.name, this.cursor, this.keyVersion, listVersion);
        this.metadataWrites++;
        break;
      } catch (err) {
        if (!isConflict(err)) throw err;
        if (this.ctx.listVersion() !== listVersion && attempt < 10) continue;
        throw mlErrors.make('MANAGED_LEDGER_FENCED', { name: this.ctx.name }, err);
      }
    }
    await this.deleteLedgers();
  }

  /** Release the cursor ledger handle (its content stays; the key points to it if needed). */
  async close(): Promise<void> {
    const l = this.ledger;
    this.ledger = undefined;
    if (l) await l.close().catch(() => undefined);
  }

  get cursorLedgerId(): number {
    return this.keyLedgerId;
  }
}
