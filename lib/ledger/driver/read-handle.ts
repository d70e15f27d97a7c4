/**
 * Read-side handles. `ReadHandleBase` implements reads for every handle (a writer may read its own
 * confirmed entries); `LedgerReader` is the handle openLedger returns: it learns the LAC from the
 * bookies (never fencing) or, once the ledger is closed, from the metadata.
 */
import type { LedgerMetadata } from '../../gen/magnetar/meta/v1/meta_pb.ts';
import type { EntryId, LedgerEntry, LedgerId, ReadableLedger } from '../api.ts';
import { errorCode, ledgerError } from '../errors.ts';
import { sameSegments, toProto, type VersionedMeta } from '../protocol/metadata.ts';
import { type DriverContext, sleep } from './context.ts';
import { EntryReader } from './entry-reader.ts';

export abstract class ReadHandleBase implements ReadableLedger {
  protected readonly ctx: DriverContext;
  protected readonly reader: EntryReader;
  protected readonly password: Uint8Array;
  protected released = false;

  constructor(ctx: DriverContext, password: Uint8Array) {
    this.ctx = ctx;
    this.password = password;
    this.reader = new EntryReader(ctx, password);
  }

  protected abstract get vm(): VersionedMeta;
  abstract get lastAddConfirmed(): EntryId;
  abstract readLastAddConfirmed(): Promise<EntryId>;
  abstract waitForLastAddConfirmed(previous: EntryId, timeoutMs: number): Promise<EntryId>;
  /** Re-read the metadata (ensemble changes, close); returns the fresh value. */
  protected abstract refreshMeta(): Promise<VersionedMeta>;

  get id(): LedgerId {
    return this.vm.meta.ledgerId;
  }
  get metadata(): LedgerMetadata {
    return toProto(this.vm.meta);
  }
  get closed(): boolean {
    return this.vm.meta.state === 'closed';
  }

  protected checkUsable(): void {
    if (this.released) throw ledgerError('HANDLE_RELEASED', { ledgerId: this.id });
  }

  async read(first: EntryId, last: EntryId): Promise<LedgerEntry[]> {
    this.checkUsable();
    const ledgerId = this.id;
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first < 0 || last < first) {
      throw ledgerError('BAD_RANGE', { ledgerId, first, last, reason: 'need 0 <= first <= last' });
    }
    if (last - first + 1 > this.ctx.limits.readEntriesMax) {
      throw ledgerError('BAD_RANGE', {
        ledgerId,
        first,
        last,
        reason: `over ${this.ctx.limits.readEntriesMax} entries`,
      });
    }
    const lac = this.lastAddConfirmed;
    if (last > lac)
      throw ledgerError('ENTRY_NOT_CONFIRMED', { ledgerId, entryId: last, lastAddConfirmed: lac });
    let meta = this.vm.meta;
    try {
      return toEntries(await this.reader.readMany(meta, first, last));
    } catch (e) {
      if (errorCode(e) !== 'READ_FAILED') throw e;
      // The writer may have moved entries to a new fragment since this handle read the metadata.
      const fresh = await this.refreshMeta();
      if (sameSegments(fresh.meta.segments, meta.segments)) throw e;
      meta = fresh.meta;
      return toEntries(await this.reader.readMany(meta, first, last));
    }
  }

  async release(): Promise<void> {
    this.released = true;
  }
}

function toEntries(list: readonly { ledgerId: number; entryId: number; payload: Buffer }[]): LedgerEntry[] {
  return list.map((d) => ({ ledgerId: d.ledgerId, entryId: d.entryId, payload: d.payload }));
}

/** A handle on a ledger someone else writes (or wrote): reads up to the LAC it has learnt. */
export class LedgerReader extends ReadHandleBase {
  #vm: VersionedMeta;
  #lac: number;

  constructor(ctx: DriverContext, vm: VersionedMeta, password: Uint8Array, lac: number) {
    super(ctx, password);
    this.#vm = vm;
    this.#lac = lac;
  }

  protected get vm(): VersionedMeta {
    return this.#vm;
  }

  get lastAddConfirmed(): EntryId {
    return this.#vm.meta.state === 'closed' ? this.#vm.meta.lastEntryId : this.#lac;
  }

  protected async refreshMeta(): Promise<VersionedMeta> {
    const fresh = await this.ctx.store.read(this.id);
    if (fresh === undefined) throw ledgerError('NO_SUCH_LEDGER', { ledgerId: this.id });
    this.#vm = fresh;
    return fresh;
  }

  async readLastAddConfirmed(): Promise<EntryId> {
    this.checkUsable();
    const vm = await this.refreshMeta();
    if (vm.meta.state === 'closed') return vm.meta.lastEntryId;
    const lac = await this.reader.readLac(vm.meta);
    if (lac === undefined) {
      throw ledgerError('READ_FAILED', {
        ledgerId: this.id,
        entryId: -1,
        reason: 'no bookie answered the LAC read',
      });
    }
    this.#lac = Math.max(this.#lac, lac);
    return this.#lac;
  }

  async waitForLastAddConfirmed(previous: EntryId, timeoutMs: number): Promise<EntryId> {
    this.checkUsable();
    const deadline = this.ctx.env.nowMs() + Math.max(0, timeoutMs);
    for (;;) {
      const vm = await this.refreshMeta();
      if (vm.meta.state === 'closed' || this.lastAddConfirmed > previous) return this.lastAddConfirmed;
      const remaining = deadline - this.ctx.env.nowMs();
      if (remaining <= 0) return this.lastAddConfirmed;
      const startedMs = this.ctx.env.nowMs();
      const pollMs = Math.min(remaining, this.ctx.limits.longPollTimeoutMsMax);
      const lac = await this.reader.waitLac(vm.meta, previous, pollMs);
      if (lac !== undefined) {
        this.#lac = Math.max(this.#lac, lac);
        return this.#lac;
      }
      // Every bookie answered at once without news (errors): do not spin.
      if (this.ctx.env.nowMs() - startedMs < pollMs)
        await sleep(this.ctx, Math.min(remaining, this.ctx.limits.metadataRetryDelayMs));
    }
  }
}
