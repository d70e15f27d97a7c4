/**
 * Public API of the managed ledger (a topic's storage: an ordered list of BookKeeper-style ledgers
 * plus cursors, kept in the metadata store with CAS). The broker (PersistentTopic, dispatchers,
 * dedup) programs against these interfaces only; the implementation lives beside this file.
 *
 * Guarantees (README.md has the full list of invariants):
 * - `append` resolves in call order, each with a position greater than every earlier one, only
 *   once the ledger client confirmed the entry (Qa fsyncs, every earlier entry confirmed).
 * - Two owners can never both get appends confirmed: opening fences the previous writer's ledgers
 *   and a lost CAS on the ledger list puts this instance in state `Fenced` (appends then fail with
 *   MANAGED_LEDGER_FENCED and the broker must close the topic).
 * - A durable cursor's state (mark-delete, individually deleted ranges, batch-index acks,
 *   properties) is restored exactly after a reload, up to the persisted bounds (see limits.ts);
 *   acks beyond the bounds or not yet flushed are redelivered (at-least-once), never lost data.
 * - Ledgers are deleted only when every durable cursor has consumed them and retention allows it.
 */

/** Address of one entry. `entryId` -1 means "before the first entry of that ledger". */
export interface Position {
  readonly ledgerId: number;
  readonly entryId: number;
}

export function position(ledgerId: number, entryId: number): Position {
  return { ledgerId, entryId };
}

/** Total order of positions: by ledger id, then entry id. Negative, zero or positive. */
export function comparePositions(a: Position, b: Position): number {
  if (a.ledgerId !== b.ledgerId) return a.ledgerId < b.ledgerId ? -1 : 1;
  if (a.entryId !== b.entryId) return a.entryId < b.entryId ? -1 : 1;
  return 0;
}

export function positionEquals(a: Position, b: Position): boolean {
  return a.ledgerId === b.ledgerId && a.entryId === b.entryId;
}

export function maxPosition(a: Position, b: Position): Position {
  return comparePositions(a, b) >= 0 ? a : b;
}

export function minPosition(a: Position, b: Position): Position {
  return comparePositions(a, b) <= 0 ? a : b;
}

export function formatPosition(p: Position): string {
  return `${p.ledgerId}:${p.entryId}`;
}

/** One stored entry (usually one Pulsar batch). */
export interface ManagedEntry {
  readonly position: Position;
  readonly data: Uint8Array;
}

/**
 * Per-topic configuration, passed by the broker (policies are resolved by lib/policies).
 * Every field has a default (limits.ts, internals.md Appendix B) and is validated on open.
 */
export interface ManagedLedgerConfig {
  readonly ensembleSize: number;
  readonly writeQuorum: number;
  readonly ackQuorum: number;
  /** Roll the current ledger once it holds this many entries. */
  readonly maxEntriesPerLedger: number;
  /** Roll once the current ledger holds this many payload bytes. */
  readonly maxSizePerLedgerBytes: number;
  /** Never roll (by entries/size) sooner than this after the ledger was created. */
  readonly minLedgerRolloverTimeMs: number;
  /** Roll a non-empty ledger this long after its creation (plus up to 5 % jitter). */
  readonly maxLedgerRolloverTimeMs: number;
  /** Keep consumed data this long; 0 = delete once consumed, -1 = unlimited. */
  readonly retentionTimeMs: number;
  /** Keep consumed data up to this total size; 0 = delete once consumed, -1 = unlimited. */
  readonly retentionSizeBytes: number;
}

/** Broker-visible lifecycle. Internal transitions (creating a ledger, rolling) stay `Open`. */
export type ManagedLedgerState = 'Open' | 'Terminated' | 'Fenced' | 'Closed' | 'Deleted';

export interface LedgerInfo {
  readonly ledgerId: number;
  /** Confirmed entries (the current ledger's count grows; closed ledgers are final). */
  readonly entries: number;
  readonly sizeBytes: number;
  /** Creation time while the ledger is being written, its close time afterwards (retention age). */
  readonly timestampMs: number;
  /** True once an offloaded copy is complete (offload is not implemented yet: always false). */
  readonly offloaded: boolean;
}

export interface ManagedLedgerStats {
  readonly name: string;
  readonly state: ManagedLedgerState;
  readonly numberOfEntries: number;
  /** Bytes stored in all ledgers (storageSize). */
  readonly totalSizeBytes: number;
  readonly currentLedgerId: number;
  readonly lastConfirmedPosition: Position;
  readonly ledgers: readonly LedgerInfo[];
  readonly pendingAppends: number;
  readonly cursors: readonly CursorStats[];
}

export type InitialPosition = 'Earliest' | 'Latest';

export interface OpenCursorOptions {
  /** Where a NEW cursor starts (an existing durable cursor keeps its state). Default 'Latest'. */
  readonly initialPosition?: InitialPosition | Position;
  /** Durable cursors are persisted and hold back trimming; non-durable ones leave nothing. Default true. */
  readonly durable?: boolean;
  /** Cursor properties for a new cursor (subscription properties); kept in the cursor key. */
  readonly cursorProperties?: Readonly<Record<string, string>>;
}

export interface ManagedLedger {
  readonly name: string;
  readonly config: ManagedLedgerConfig;
  readonly state: ManagedLedgerState;

  /**
   * Append one entry. Resolves in call order; rejects FENCED / TERMINATED / CLOSED /
   * TOO_MANY_PENDING_APPENDS / ENTRY_TOO_LARGE / APPEND_FAILED. The entry cache keeps a reference
   * to `data`: do not modify it afterwards.
   */
  append(data: Uint8Array): Promise<Position>;
  /** Read up to `maxEntries` (and about `maxBytes`, at least one entry) confirmed entries from `from`. */
  readEntries(from: Position, opts: { maxEntries: number; maxBytes?: number }): Promise<ManagedEntry[]>;

  /** Last confirmed entry; {currentLedgerId, -1} when nothing was written after the last roll/trim. */
  readonly lastConfirmedPosition: Position;
  /** First position that may still hold an entry (first ledger, entry 0). */
  readonly firstPosition: Position;
  /** The position after `p` in this topic (skips to the next ledger when `p` ends its ledger). */
  nextPosition(p: Position): Position;
  /** Entries in (from, to] (both clipped to existing ledgers). */
  countEntriesBetween(fromExclusive: Position, toInclusive: Position): number;

  openCursor(name: string, opts?: OpenCursorOptions): Promise<ManagedCursor>;
  /** Remove a cursor and its persisted state. Its entries no longer hold back trimming. */
  deleteCursor(name: string): Promise<void>;
  getCursor(name: string): ManagedCursor | undefined;
  cursors(): readonly ManagedCursor[];

  readonly numberOfEntries: number;
  readonly totalSizeBytes: number;
  stats(): ManagedLedgerStats;
  readonly ledgers: readonly LedgerInfo[];

  /** Topic-level properties (string → string), persisted in the ledger list by CAS. */
  readonly properties: Readonly<Record<string, string>>;
  setProperties(update: Readonly<Record<string, string | null>>): Promise<void>;

  /**
   * Change per-topic settings while open (a policy change): validated like `open`'s overrides
   * (INVALID_CONFIG); E/Qw/Qa and rollover bounds apply to the next ledger, retention to the next
   * trim (one is started when retention changed).
   */
  updateConfig(update: Partial<ManagedLedgerConfig>): void;

  /** Run one trimming pass now (also runs periodically and after the slowest cursor moves). */
  trimConsumedLedgers(): Promise<void>;

  /** Subscribe to state changes (Fenced, Terminated, Closed, Deleted). Returns an unsubscribe function. */
  onStateChange(listener: (state: ManagedLedgerState, reason?: Error) => void): () => void;

  /** Stop accepting appends for good; resolves with the final last position. Idempotent. */
  terminate(): Promise<Position>;
  /** Release in-memory resources; persists dirty cursors. The topic stays in the store. */
  close(): Promise<void>;
  /** Delete every ledger, cursor and key of this topic. */
  delete(): Promise<void>;
}

export type CursorState = 'Open' | 'Closed' | 'Deleted';

/** A contiguous run of acknowledged entries above the mark-delete position (inclusive bounds). */
export interface PositionRange {
  readonly from: Position;
  readonly to: Position;
}

export interface CursorStats {
  readonly name: string;
  readonly durable: boolean;
  readonly state: CursorState;
  readonly markDeletePosition: Position;
  readonly readPosition: Position;
  /** Entries not yet acknowledged (msgBacklog), counting a partly acked batch as one. */
  readonly backlogEntries: number;
  /** Estimated bytes of those entries (backlogSize). */
  readonly backlogSizeBytes: number;
  readonly individuallyDeletedRanges: number;
  readonly batchAckedEntries: number;
  /** Number of metadata-key writes and cursor-ledger appends (persistence rate). */
  readonly metadataWrites: number;
  readonly ledgerWrites: number;
  readonly lastActiveMs: number;
}

export interface ReadOptions {
  /** Stop after about this many bytes (at least one entry is returned). */
  readonly maxBytes?: number;
  /** Return no entry at or after this position (exclusive upper bound). */
  readonly maxPosition?: Position;
}

export interface ManagedCursor {
  readonly name: string;
  readonly durable: boolean;
  readonly state: CursorState;
  /** Everything at or before it is acknowledged. */
  readonly markDeletePosition: Position;
  /** Next entry `readEntries` will return (individually deleted entries are skipped). */
  readonly readPosition: Position;

  /**
   * Read up to `maxEntries` from the read position and advance it; [] when caught up. Each call
   * is cut to the maxEntriesPerRead / maxBytesPerRead settings (always at least one entry).
   */
  readEntries(maxEntries: number, opts?: ReadOptions): Promise<ManagedEntry[]>;
  /**
   * Like readEntries, but when caught up waits until new entries are appended. At most one wait
   * per cursor; `cancelPendingRead` resolves it with [] (also on close/terminate).
   */
  readEntriesOrWait(maxEntries: number, opts?: ReadOptions): Promise<ManagedEntry[]>;
  /** True if a wait was pending and got cancelled. */
  cancelPendingRead(): boolean;
  /** True when entries exist at or after the read position. */
  hasMoreEntries(): boolean;
  /** Read specific positions (redelivery, at most maxEntriesPerRead); acked or trimmed ones are left out. */
  replayEntries(positions: readonly Position[]): Promise<ManagedEntry[]>;

  /**
   * Acknowledge everything up to and including `position` (cumulative ack). `properties` replace
   * the cursor's mark-delete properties (dedup snapshot). Applied in memory at once; persisted at
   * the configured rate (call `flush` to force). Positions below the current one are ignored.
   */
  markDelete(position: Position, properties?: Readonly<Record<string, bigint>>): Promise<void>;
  /** Individual acks. The mark-delete position advances over any contiguous acked prefix. */
  delete(positions: readonly Position[]): Promise<void>;
  /**
   * Batch-index acks for one entry holding `batchSize` messages; once every index is acked the
   * entry counts as deleted (as if `delete([position])`).
   */
  deleteBatchIndexes(position: Position, batchSize: number, indexes: readonly number[]): Promise<void>;
  /** Acked batch indexes of a partly acked entry (sorted), or undefined if none/fully acked. */
  ackedBatchIndexes(position: Position): readonly number[] | undefined;
  /** True when the entry is acknowledged (at/below mark-delete or individually deleted). */
  isAcknowledged(position: Position): boolean;
  /** Acknowledged ranges above the mark-delete position, in order. */
  individuallyDeletedRanges(): readonly PositionRange[];
  /** Mark-delete properties from the latest markDelete (or restored from the store). */
  readonly properties: Readonly<Record<string, bigint>>;
  /** Cursor (subscription) properties, written through to the cursor key. */
  readonly cursorProperties: Readonly<Record<string, string>>;
  setCursorProperties(props: Readonly<Record<string, string>>): Promise<void>;

  /** Unacknowledged entries between mark-delete and the last confirmed entry (msgBacklog). */
  getNumberOfEntriesInBacklog(): number;
  /** Entries from the read position to the last confirmed entry, not counting acked ones. */
  getNumberOfEntriesToRead(): number;
  getEstimatedBacklogSizeBytes(): number;

  /** Move only the read position (rewind / redeliver-all); mark-delete and acks are unchanged. */
  seek(position: Position): void;
  /** Read position back to the first unacknowledged entry. */
  rewind(): void;
  /**
   * Reset the subscription: mark-delete just before `position`, drop individual and batch acks,
   * read from `position`. Persisted before it resolves.
   */
  resetCursor(position: Position): Promise<void>;
  /**
   * The newest entry, from the mark-delete position on, for which `predicate` holds, assuming it
   * holds for a prefix (e.g. publishTime <= t). Binary search over entries; undefined if none.
   */
  findNewestMatching(predicate: (entry: ManagedEntry) => boolean): Promise<Position | undefined>;
  /** Acknowledge the next `count` unacknowledged entries (cumulatively). */
  skipEntries(count: number): Promise<void>;
  /** Acknowledge everything up to the last confirmed entry. */
  clearBacklog(): Promise<void>;

  /** Persist any dirty ack state now (bypasses the rate limit). */
  flush(): Promise<void>;
  stats(): CursorStats;
  /** Persist dirty state and release resources; the durable cursor stays in the store. */
  close(): Promise<void>;
}

/** Broker-wide factory: one per broker process, shares the entry cache and clients across topics. */
export interface ManagedLedgerFactory {
  /** Open (creating if absent) the managed ledger `name`; fences any previous owner. */
  open(name: string, config?: Partial<ManagedLedgerConfig>): Promise<ManagedLedger>;
  /** True when metadata for `name` exists. */
  exists(name: string): Promise<boolean>;
  /** The stored ledger list of a topic not necessarily open here (admin stats); undefined if absent. */
  getStoredInfo(name: string): Promise<StoredManagedLedgerInfo | undefined>;
  /** Delete a topic that is not open here (opens it, deletes everything). */
  delete(name: string): Promise<void>;
  cacheStats(): EntryCacheStats;
  /** Close every open managed ledger and stop timers. */
  shutdown(): Promise<void>;
}

export interface StoredManagedLedgerInfo {
  readonly ledgers: readonly LedgerInfo[];
  readonly terminatedPosition?: Position;
  readonly properties: Readonly<Record<string, string>>;
  readonly cursorNames: readonly string[];
}

export interface EntryCacheStats {
  readonly sizeBytes: number;
  readonly maxSizeBytes: number;
  readonly entries: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictedBytes: number;
}
