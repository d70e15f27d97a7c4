/**
 * The metadata store contract. Two implementations keep it: etcd (clusters) and the embedded
 * file-backed store (standalone). One contract test suite runs against both.
 *
 * Semantics (both implementations):
 * - Every key has a `version` that changes on every write and is never reused for that key
 *   (etcd: the key's modRevision). Compare-and-swap compares it.
 * - `put` with `expectedVersion` is a CAS; with `expectedVersion: 'absent'` it is create-if-absent.
 *   A failed condition is a MetadataError BAD_VERSION (key exists with another version) or
 *   NO_SUCH_KEY (expected a version, key absent) or KEY_EXISTS (expected absent): never a silent no-op.
 * - A session is a lease kept alive in the background. Keys written with `session` vanish when it
 *   expires or is closed. When the store can no longer vouch for the session (keep-alive failing
 *   past its TTL, or the lease gone), `onLost` fires exactly once and the session is dead for good;
 *   callers create a new one.
 * - Watches deliver every change under a prefix after the watch is established, in revision
 *   order. A watch that cannot continue (compaction, disconnect beyond recovery) reports an error
 *   through `onError` so the caller can re-list. A watch asked to start (`afterVersion`) before the
 *   retained history fails with WATCH_COMPACTED from `watch()` itself (or, if the compaction races
 *   with the start, through `onError`).
 * - Calls that cannot reach the store fail with UNAVAILABLE after the configured bounded retries;
 *   nothing reports success it cannot vouch for. UNAVAILABLE means "not applied"; TIMEOUT means
 *   "outcome unknown" (a write may have been applied: re-read before acting on it).
 * - Errors are MetadataErrors (errors.ts); keys are built with keys.ts; bounds are in limits.ts.
 */

export type Version = number;

export interface Entry {
  readonly key: string;
  readonly value: Uint8Array;
  readonly version: Version;
  /** Version at which the key was created (etcd createRevision); orders election candidates. */
  readonly createVersion: Version;
  /** Set when the key is bound to a session. */
  readonly sessionId?: string;
}

export interface PutOptions {
  /** CAS: the current version must equal this, or the key must be absent ('absent'). */
  readonly expectedVersion?: Version | 'absent';
  /** Bind the key to a session (ephemeral). */
  readonly session?: Session;
}

export interface DeleteOptions {
  readonly expectedVersion?: Version;
}

export interface ListOptions {
  /** Start strictly after this key (pagination). */
  readonly startAfter?: string;
  /** At most this many entries (bounded by the implementation's max page size). */
  readonly limit?: number;
  /** Return keys only (values empty). */
  readonly keysOnly?: boolean;
}

export interface ListPage {
  readonly entries: readonly Entry[];
  /** True when more keys follow; pass the last key as `startAfter`. */
  readonly more: boolean;
  /**
   * Store revision this page was read at: `watch(prefix, h, { afterVersion: page.revision })`
   * delivers every change made after the page, so list-then-watch has no gap.
   */
  readonly revision: Version;
}

/** One operation of an atomic transaction. */
export type TxnOp =
  | {
      readonly op: 'put';
      readonly key: string;
      readonly value: Uint8Array;
      readonly expectedVersion?: Version | 'absent';
      readonly session?: Session;
    }
  | { readonly op: 'delete'; readonly key: string; readonly expectedVersion?: Version }
  | { readonly op: 'check'; readonly key: string; readonly expectedVersion: Version | 'absent' };

export type WatchEvent =
  | { readonly type: 'put'; readonly entry: Entry }
  | { readonly type: 'delete'; readonly key: string; readonly version: Version };

export interface Watch {
  close(): Promise<void>;
}

export interface WatchOptions {
  /** Deliver changes with a version greater than this (default: changes after the watch starts). */
  readonly afterVersion?: Version;
}

export interface WatchHandlers {
  onEvent(event: WatchEvent): void;
  onError?(err: Error): void;
}

export interface Session {
  readonly id: string;
  readonly ttlMs: number;
  /** False once lost or closed. */
  readonly alive: boolean;
  /** Called once when the session is lost (not when closed by its owner). */
  onLost(listener: (reason: Error) => void): void;
  /** Revoke: its keys are deleted now. */
  close(): Promise<void>;
}

export interface MetadataStore {
  get(key: string): Promise<Entry | undefined>;
  /** Returns the new version. */
  put(key: string, value: Uint8Array, opts?: PutOptions): Promise<Version>;
  /** Returns false if the key was absent. Throws BAD_VERSION on a failed CAS. */
  delete(key: string, opts?: DeleteOptions): Promise<boolean>;
  /** Keys under `prefix`, in key order, one page at a time. */
  list(prefix: string, opts?: ListOptions): Promise<ListPage>;
  /** Every entry under `prefix` (pages internally; bounded by the implementation's max). */
  listAll(prefix: string, opts?: { keysOnly?: boolean }): Promise<Entry[]>;
  /** Delete every key under `prefix`; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * All-or-nothing: either every condition holds and every op applies, or nothing is written and
   * a BAD_VERSION / KEY_EXISTS / NO_SUCH_KEY error names the first failing key.
   * Returns the new versions of the put keys, in op order (undefined for non-put ops).
   */
  txn(ops: readonly TxnOp[]): Promise<(Version | undefined)[]>;
  watch(prefix: string, handlers: WatchHandlers, opts?: WatchOptions): Promise<Watch>;
  createSession(ttlMs: number): Promise<Session>;
  /**
   * End any session by id (this client's or another's, e.g. a stuck broker's): its keys are
   * deleted now and its owner sees `onLost`. Returns false if no such live session.
   */
  revokeSession(sessionId: string): Promise<boolean>;
  close(): Promise<void>;
}
