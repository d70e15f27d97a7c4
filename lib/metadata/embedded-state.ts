/**
 * The embedded store's state as a pure, deterministic state machine: `plan*` functions check a
 * request against the current state and return the log record that performs it (or throw the
 * contract's error); `apply` performs a record and returns the watch events it causes. Replaying
 * the same records from the same snapshot always rebuilds the same state, which is how the store
 * recovers after a restart. No I/O and no clocks here.
 */
import { assert } from '../assert.ts';
import { MetadataErrors } from './errors.ts';
import type { Entry, TxnOp, WatchEvent } from './store.ts';
import { casFailure, conditionHolds } from './validate.ts';

/** One write inside a commit: put (value base64, optional session) or delete. */
export type Mutation =
  | { readonly put: string; readonly v: string; readonly s?: string }
  | { readonly del: string };

export type LogRecord =
  /** Writes applied atomically at revision `rev`. */
  | { readonly t: 'commit'; readonly rev: number; readonly m: readonly Mutation[] }
  /** A session was created. */
  | { readonly t: 'session'; readonly id: string; readonly ttlMs: number }
  /** A session ended (closed, revoked, or of a previous incarnation): its keys go at `rev`. */
  | { readonly t: 'end'; readonly id: string; readonly rev: number };

interface StoredEntry {
  readonly value: Uint8Array;
  readonly version: number;
  readonly createVersion: number;
  readonly sessionId?: string;
}

export interface Snapshot {
  readonly revision: number;
  readonly nextSessionId: number;
  readonly sessions: readonly { id: string; ttlMs: number }[];
  readonly entries: readonly { k: string; v: string; ver: number; cv: number; s?: string }[];
}

/** UTF-8 byte order (= code point order), like etcd; JS `<` orders UTF-16 units instead. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? (y >= 0xe000 ? 1 : x - y) : x >= 0xe000 ? -1 : x - y;
    return x - y;
  }
  return a.length - b.length;
}

const b64 = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

export class EmbeddedState {
  revision = 0;
  nextSessionId = 1;
  readonly #entries = new Map<string, StoredEntry>();
  /** Keys in compareKeys order, for prefix scans and pagination. */
  readonly #sorted: string[] = [];
  readonly #sessions = new Map<string, { ttlMs: number; keys: Set<string> }>();

  static fromSnapshot(snap: Snapshot): EmbeddedState {
    const state = new EmbeddedState();
    state.revision = snap.revision;
    state.nextSessionId = snap.nextSessionId;
    for (const s of snap.sessions) state.#sessions.set(s.id, { ttlMs: s.ttlMs, keys: new Set() });
    for (const e of [...snap.entries].sort((a, b) => compareKeys(a.k, b.k))) {
      state.#entries.set(e.k, { value: unb64(e.v), version: e.ver, createVersion: e.cv, sessionId: e.s });
      state.#sorted.push(e.k);
      if (e.s !== undefined) state.#sessions.get(e.s)?.keys.add(e.k);
    }
    return state;
  }

  snapshot(): Snapshot {
    return {
      revision: this.revision,
      nextSessionId: this.nextSessionId,
      sessions: [...this.#sessions].map(([id, s]) => ({ id, ttlMs: s.ttlMs })),
      entries: this.#sorted.map((k) => {
        const e = this.#entries.get(k)!;
        return {
          k,
          v: b64(e.value),
          ver: e.version,
          cv: e.createVersion,
          ...(e.sessionId ? { s: e.sessionId } : {}),
        };
      }),
    };
  }

  get(key: string): Entry | undefined {
    const e = this.#entries.get(key);
    return e && toEntry(key, e);
  }

  /** Up to `limit` entries under `prefix` with key > `startAfter`, in key order. */
  range(prefix: string, startAfter: string | undefined, limit: number): { entries: Entry[]; more: boolean } {
    let i = this.#lowerBound(prefix);
    if (startAfter !== undefined && compareKeys(startAfter, prefix) >= 0) {
      i = this.#lowerBound(startAfter);
      if (this.#sorted[i] === startAfter) i++;
    }
    const entries: Entry[] = [];
    for (; i < this.#sorted.length && this.#sorted[i].startsWith(prefix); i++) {
      if (entries.length === limit) return { entries, more: true };
      const k = this.#sorted[i];
      entries.push(toEntry(k, this.#entries.get(k)!));
    }
    return { entries, more: false };
  }

  sessionIds(): string[] {
    return [...this.#sessions.keys()];
  }

  hasSession(id: string): boolean {
    return this.#sessions.has(id);
  }

  // ---- planning: check a request, return the record that performs it -------------------------

  planTxn(ops: readonly TxnOp[]): LogRecord {
    for (const op of ops) {
      if (op.expectedVersion === undefined) continue;
      const actual = this.#entries.get(op.key)?.version;
      if (!conditionHolds(op.expectedVersion, actual)) throw casFailure(op.key, op.expectedVersion, actual);
    }
    const m: Mutation[] = [];
    for (const op of ops) {
      if (op.op === 'put') {
        const sessionId = op.session?.id;
        if (sessionId !== undefined && !this.#sessions.has(sessionId)) {
          throw MetadataErrors.make('SESSION_LOST', { sessionId, reason: 'the session has ended' });
        }
        m.push({ put: op.key, v: b64(op.value), ...(sessionId !== undefined ? { s: sessionId } : {}) });
      } else if (op.op === 'delete') {
        m.push({ del: op.key });
      }
    }
    return { t: 'commit', rev: this.revision + 1, m };
  }

  /** Delete of one key, or undefined when there is nothing to delete (no record needed). */
  planDelete(key: string): LogRecord | undefined {
    return this.#entries.has(key) ? { t: 'commit', rev: this.revision + 1, m: [{ del: key }] } : undefined;
  }

  planDeletePrefix(prefix: string): LogRecord | undefined {
    const m: Mutation[] = [];
    for (
      let i = this.#lowerBound(prefix);
      i < this.#sorted.length && this.#sorted[i].startsWith(prefix);
      i++
    ) {
      m.push({ del: this.#sorted[i] });
    }
    return m.length ? { t: 'commit', rev: this.revision + 1, m } : undefined;
  }

  planSessionStart(ttlMs: number): LogRecord {
    return { t: 'session', id: String(this.nextSessionId), ttlMs };
  }

  planSessionEnd(id: string): LogRecord | undefined {
    return this.#sessions.has(id) ? { t: 'end', id, rev: this.revision + 1 } : undefined;
  }

  // ---- applying -------------------------------------------------------------------------------

  apply(record: LogRecord): WatchEvent[] {
    switch (record.t) {
      case 'commit': {
        assert(record.rev === this.revision + 1, 'commit out of order', {
          rev: record.rev,
          at: this.revision,
        });
        this.revision = record.rev;
        const events: WatchEvent[] = [];
        for (const mu of record.m) {
          const ev = 'put' in mu ? this.#put(mu.put, unb64(mu.v), mu.s) : this.#delete(mu.del);
          if (ev) events.push(ev);
        }
        return events;
      }
      case 'session': {
        assert(!this.#sessions.has(record.id), 'session id reused', { id: record.id });
        this.#sessions.set(record.id, { ttlMs: record.ttlMs, keys: new Set() });
        this.nextSessionId = Math.max(this.nextSessionId, Number(record.id) + 1);
        return [];
      }
      case 'end': {
        const session = this.#sessions.get(record.id);
        assert(session, 'end of an unknown session', { id: record.id });
        assert(record.rev === this.revision + 1, 'session end out of order', {
          rev: record.rev,
          at: this.revision,
        });
        this.revision = record.rev;
        this.#sessions.delete(record.id);
        return [...session.keys].sort(compareKeys).flatMap((k) => this.#delete(k) ?? []);
      }
    }
  }

  #put(key: string, value: Uint8Array, sessionId: string | undefined): WatchEvent {
    const prev = this.#entries.get(key);
    if (prev?.sessionId !== undefined) this.#sessions.get(prev.sessionId)?.keys.delete(key);
    if (!prev) this.#sorted.splice(this.#lowerBound(key), 0, key);
    const stored: StoredEntry = {
      value,
      version: this.revision,
      createVersion: prev ? prev.createVersion : this.revision,
      ...(sessionId !== undefined ? { sessionId } : {}),
    };
    this.#entries.set(key, stored);
    if (sessionId !== undefined) {
      const session = this.#sessions.get(sessionId);
      assert(session, 'put bound to an unknown session', { key, sessionId });
      session.keys.add(key);
    }
    return { type: 'put', entry: toEntry(key, stored) };
  }

  /** No event when the key was absent (like etcd). */
  #delete(key: string): WatchEvent | undefined {
    const prev = this.#entries.get(key);
    if (!prev) return undefined;
    this.#entries.delete(key);
    this.#sorted.splice(this.#lowerBound(key), 1);
    if (prev.sessionId !== undefined) this.#sessions.get(prev.sessionId)?.keys.delete(key);
    return { type: 'delete', key, version: this.revision };
  }

  #lowerBound(key: string): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.#sorted[mid], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function toEntry(key: string, e: StoredEntry): Entry {
  return {
    key,
    value: e.value.slice(), // callers may not mutate the stored bytes
    version: e.version,
    createVersion: e.createVersion,
    ...(e.sessionId !== undefined ? { sessionId: e.sessionId } : {}),
  };
}
