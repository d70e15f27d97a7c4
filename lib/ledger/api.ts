/**
 * The public API of the quorum ledger client (what brokers and the coordinator use).
 * Ids are plain numbers (always < 2^53; the id allocator guarantees it); the gRPC/protobuf layer
 * converts to and from int64 at its boundary.
 *
 * Guarantees (internals.md §0-§1):
 * - `append` resolves only after Qa bookies of the entry's write set fsynced it AND every earlier
 *   entry of the ledger resolved; entries resolve in entry-id order.
 * - A ledger has one writer. Opening with recovery fences it: the old writer's later appends fail
 *   with LEDGER_FENCED, and every append it was told succeeded survives recovery.
 * - Reads never return an entry above the LAC, and verify every entry's digest.
 */
import type { LedgerMetadata } from '../gen/magnetar/meta/v1/meta_pb.ts';

export type LedgerId = number;
export type EntryId = number;

export interface CreateLedgerOptions {
  readonly ensembleSize: number;
  readonly writeQuorum: number;
  readonly ackQuorum: number;
  /** The ledger password (BookKeeper master key); needed to fence or recover. */
  readonly password: Uint8Array;
  /** Stored in the ledger metadata (e.g. the topic name). */
  readonly customMetadata?: Readonly<Record<string, string>>;
}

export interface LedgerEntry {
  readonly ledgerId: LedgerId;
  readonly entryId: EntryId;
  readonly payload: Uint8Array;
}

export interface ReadableLedger {
  readonly id: LedgerId;
  /** The latest metadata this handle knows. */
  readonly metadata: LedgerMetadata;
  /** Highest entry id known confirmed (-1 if none). */
  readonly lastAddConfirmed: EntryId;
  /** True once the ledger is closed (lastAddConfirmed is then final). */
  readonly closed: boolean;
  /** Entries first..last inclusive, all ≤ LAC; rejects with ENTRY_NOT_CONFIRMED beyond it. */
  read(first: EntryId, last: EntryId): Promise<LedgerEntry[]>;
  /** Ask the bookies for the LAC (non-fencing) and return the refreshed value. */
  readLastAddConfirmed(): Promise<EntryId>;
  /** Long poll: resolves with the new LAC once it passes `previous`, or the current one at timeout. */
  waitForLastAddConfirmed(previous: EntryId, timeoutMs: number): Promise<EntryId>;
  /** Release the handle (no metadata change for read handles). */
  release(): Promise<void>;
}

export interface WritableLedger extends ReadableLedger {
  /** Append one entry; resolves with its id once confirmed (see guarantees above). */
  append(payload: Uint8Array): Promise<EntryId>;
  /** Number of appends not yet confirmed. */
  readonly pendingCount: number;
  /** Wait for pending appends, then seal the ledger (CLOSED with its last entry) by CAS. */
  close(): Promise<void>;
}

export interface LedgerClient {
  createLedger(opts: CreateLedgerOptions): Promise<WritableLedger>;
  /**
   * Open a ledger for reading. With `recovery: true` (a new owner taking over), fence it, recover
   * its tail and close it: the result is closed and its LAC is the final last entry.
   * Without recovery the ledger may still be open; reads go up to the LAC known so far.
   */
  openLedger(ledgerId: LedgerId, opts: { recovery: boolean; password: Uint8Array }): Promise<ReadableLedger>;
  deleteLedger(ledgerId: LedgerId): Promise<void>;
  getLedgerMetadata(ledgerId: LedgerId): Promise<LedgerMetadata | undefined>;
  close(): Promise<void>;
}
