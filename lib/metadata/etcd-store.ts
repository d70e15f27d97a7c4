/**
 * MetadataStore on etcd v3. Versions are modRevisions; CAS is a Txn comparing the modRevision (or
 * createRevision == 0 for "absent") whose else-branch reads the key, so a failed condition names
 * the actual state; sessions are leases (etcd-session.ts); watches are revision-continuous streams
 * (etcd-watch.ts); every call has deadlines and bounded retries (etcd-call.ts). Keys live under
 * a root prefix so deployments (and tests) can share one etcd.
 */
import { Etcd3, type IKeyValue, type IRangeRequest, KVClient, LeaseClient, WatchClient } from 'etcd3';
import { isMagnetarError } from '../errors/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { classifyFailure, EtcdCaller } from './etcd-call.ts';
import { EtcdSession } from './etcd-session.ts';
import { buildTxn, type LeaseOf, txnFailure } from './etcd-txn.ts';
import { EtcdWatch } from './etcd-watch.ts';
import { MetadataErrors } from './errors.ts';
import { type MetadataLimits, resolveLimits } from './limits.ts';
import type {
  DeleteOptions,
  Entry,
  ListOptions,
  ListPage,
  MetadataStore,
  PutOptions,
  Session,
  TxnOp,
  Version,
  Watch,
  WatchHandlers,
  WatchOptions,
} from './store.ts';
import * as check from './validate.ts';

export interface EtcdStoreOptions {
  /** host:port of each etcd member. */
  readonly hosts: readonly string[];
  /** Every key is stored under this prefix ('' or '/x[/y...]'). */
  readonly rootPrefix: string;
  readonly limits?: Partial<MetadataLimits>;
  readonly logger?: Logger;
}

/** Passes calls straight through: retries and deadlines are ours (etcd-call.ts), not etcd3's. */
const passThrough = {
  execute: async (fn: (ctx: { signal: AbortSignal }) => unknown, signal?: AbortSignal) =>
    fn({ signal: signal ?? new AbortController().signal }),
};

/** Messages above this are refused by gRPC; list() halves its page when a page is too big. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export async function openEtcdStore(opts: EtcdStoreOptions): Promise<EtcdMetadataStore> {
  const store = new EtcdMetadataStore(opts);
  try {
    await store.ping();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}

export class EtcdMetadataStore implements MetadataStore {
  readonly limits: MetadataLimits;
  readonly rootPrefix: string;
  readonly #client: Etcd3;
  readonly #kv: KVClient;
  readonly #leases: LeaseClient;
  readonly #watchClient: WatchClient;
  readonly #caller: EtcdCaller;
  readonly #logger: Logger;
  readonly #sessions = new Map<string, EtcdSession>();
  readonly #watches = new Set<EtcdWatch>();
  #closed = false;

  constructor(opts: EtcdStoreOptions) {
    this.limits = resolveLimits(opts.limits);
    this.rootPrefix = normalizeRootPrefix(opts.rootPrefix);
    if (!Array.isArray(opts.hosts) || opts.hosts.length === 0) {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'etcd hosts', why: 'at least one host:port' });
    }
    this.#logger =
      opts.logger ?? createLogger({ service: 'metadata', node: `etcd-client-${process.pid}` }).child({});
    this.#client = new Etcd3({
      hosts: opts.hosts.map((h) => (/^https?:\/\//.test(h) ? h : `http://${h}`)),
      faultHandling: { host: () => passThrough as never, global: passThrough as never },
      grpcOptions: {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
      },
    });
    const pool = (this.#client as unknown as { pool: ConstructorParameters<typeof KVClient>[0] }).pool;
    this.#kv = new KVClient(pool);
    this.#leases = new LeaseClient(pool);
    this.#watchClient = new WatchClient(pool);
    this.#caller = new EtcdCaller(this.limits, () => this.#closed);
  }

  /** One read round trip (used at open to fail fast when etcd is unreachable). */
  async ping(): Promise<void> {
    await this.#caller.run('ping', 'read', (deadline) =>
      this.#kv.range({ key: this.#raw('/'), keys_only: true, limit: 1 }, { deadline }),
    );
  }

  async get(key: string): Promise<Entry | undefined> {
    check.checkKey(key, this.limits);
    const res = await this.#caller.run('get', 'read', (deadline) =>
      this.#kv.range({ key: this.#raw(key) }, { deadline }),
    );
    return res.kvs.length ? this.#toEntry(res.kvs[0]) : undefined;
  }

  async put(key: string, value: Uint8Array, opts: PutOptions = {}): Promise<Version> {
    const [version] = await this.txn([{ op: 'put', key, value, ...opts }]);
    return version!;
  }

  async delete(key: string, opts: DeleteOptions = {}): Promise<boolean> {
    check.checkKey(key, this.limits);
    check.checkExpectedVersion(key, opts.expectedVersion, false);
    if (opts.expectedVersion !== undefined) {
      await this.txn([{ op: 'delete', key, expectedVersion: opts.expectedVersion }]);
      return true;
    }
    const res = await this.#caller.run('delete', 'write', (deadline) =>
      this.#kv.deleteRange({ key: this.#raw(key) }, { deadline }),
    );
    return Number(res.deleted) > 0;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    check.checkPrefix(prefix, this.limits);
    if (opts.startAfter !== undefined) check.checkKey(opts.startAfter, this.limits);
    return this.#listPage(prefix, opts, check.pageSize(opts.limit, this.limits), undefined);
  }

  async listAll(prefix: string, opts: { keysOnly?: boolean } = {}): Promise<Entry[]> {
    check.checkPrefix(prefix, this.limits);
    for (let restarts = 0; ; restarts++) {
      try {
        return await this.#listAllAtOneRevision(prefix, opts);
      } catch (err) {
        // The pinned revision was compacted away between pages: list again from the start.
        const compacted = /compacted/i.test(String((err as Error)?.message));
        if (!compacted || restarts >= 3) throw err;
      }
    }
  }

  async #listAllAtOneRevision(prefix: string, opts: { keysOnly?: boolean }): Promise<Entry[]> {
    const out: Entry[] = [];
    let startAfter: string | undefined;
    let revision: number | undefined;
    for (;;) {
      const page = await this.#listPage(prefix, { ...opts, startAfter }, this.limits.maxPageSize, revision);
      revision = page.revision; // later pages read the same snapshot as the first
      out.push(...page.entries);
      if (out.length > this.limits.maxListAllEntries) {
        throw MetadataErrors.make('TOO_MANY_KEYS', { max: this.limits.maxListAllEntries, prefix });
      }
      if (!page.more || page.entries.length === 0) return out;
      startAfter = page.entries[page.entries.length - 1].key;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    check.checkPrefix(prefix, this.limits);
    const start = this.#raw(prefix);
    const res = await this.#caller.run('deletePrefix', 'write', (deadline) =>
      this.#kv.deleteRange({ key: start, range_end: prefixEnd(start) }, { deadline }),
    );
    return Number(res.deleted);
  }

  async txn(ops: readonly TxnOp[]): Promise<(Version | undefined)[]> {
    check.checkTxn(ops, this.limits);
    const leaseOf: LeaseOf = (session) => this.#leaseOf(session);
    const request = buildTxn(ops, (key) => this.#raw(key), leaseOf);
    let res: Awaited<ReturnType<KVClient['txn']>>;
    try {
      res = await this.#caller.run('txn', 'write', (deadline) => this.#kv.txn(request, { deadline }));
    } catch (err) {
      if (!isMagnetarError(err) && classifyFailure(err) === 'lease-gone')
        throw await this.#leaseGone(ops, err);
      throw err;
    }
    if (!res.succeeded) throw txnFailure(ops, res, (kv) => this.#toEntry(kv));
    const version = this.#version(res.header.revision);
    return ops.map((op) => (op.op === 'put' ? version : undefined));
  }

  async watch(prefix: string, handlers: WatchHandlers, opts: WatchOptions = {}): Promise<Watch> {
    check.checkPrefix(prefix, this.limits);
    this.#checkOpen();
    if (typeof handlers?.onEvent !== 'function') {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'watch handlers', why: 'onEvent is required' });
    }
    if (
      opts.afterVersion !== undefined &&
      (!Number.isSafeInteger(opts.afterVersion) || opts.afterVersion < 0)
    ) {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'afterVersion', why: String(opts.afterVersion) });
    }
    if (this.#watches.size >= this.limits.maxWatches) {
      throw MetadataErrors.make('INVALID_ARGUMENT', {
        what: 'watch',
        why: `maxWatches ${this.limits.maxWatches} open`,
      });
    }
    const start = this.#raw(prefix);
    if (opts.afterVersion !== undefined && opts.afterVersion > 0) {
      await this.#checkNotCompacted(prefix, start, opts.afterVersion);
    }
    const watch = new EtcdWatch(
      {
        watches: this.#watchClient,
        limits: this.limits,
        logger: this.#logger,
        toEntry: (kv) => this.#toEntry(kv),
        toKey: (raw) => this.#key(raw),
        onEnded: (w) => this.#watches.delete(w),
      },
      prefix,
      { start, end: prefixEnd(start) },
      handlers,
      opts.afterVersion,
    );
    this.#watches.add(watch);
    await watch.start();
    return watch;
  }

  async createSession(ttlMs: number): Promise<Session> {
    check.checkTtl(ttlMs, this.limits);
    this.#checkOpen();
    if (this.#sessions.size >= this.limits.maxSessions) {
      throw MetadataErrors.make('INVALID_ARGUMENT', {
        what: 'session',
        why: `maxSessions ${this.limits.maxSessions} live`,
      });
    }
    const sentAt = performance.now();
    // A retried grant can only leave an unused lease behind, which expires by itself.
    const res = await this.#caller.run('createSession', 'read', (deadline) =>
      this.#leases.leaseGrant({ TTL: Math.ceil(ttlMs / 1000) }, { deadline }),
    );
    if (res.error) throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'lease grant', why: res.error });
    const session = new EtcdSession(
      {
        leases: this.#leases,
        caller: this.#caller,
        limits: this.limits,
        logger: this.#logger,
        onEnded: (s) => this.#sessions.delete(s.id),
      },
      String(res.ID),
      Number(res.TTL) * 1000,
      sentAt,
    );
    this.#sessions.set(session.id, session);
    return session;
  }

  async revokeSession(sessionId: string): Promise<boolean> {
    if (typeof sessionId !== 'string' || !/^\d{1,20}$/.test(sessionId)) {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'session id', why: JSON.stringify(sessionId) });
    }
    const revoked = await this.#caller.run('revokeSession', 'read', async (deadline) => {
      try {
        await this.#leases.leaseRevoke({ ID: sessionId }, { deadline });
        return true;
      } catch (err) {
        if (/requested lease not found/i.test(String((err as Error)?.message))) return false;
        throw err;
      }
    });
    this.#sessions.get(sessionId)?.markLost('revoked by revokeSession');
    return revoked;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Revoke our sessions first (their keys go now, not after a TTL); a failure only delays that.
    await Promise.allSettled(
      [...this.#sessions.values()].map((s) =>
        s.close().catch((err) => {
          this.#logger.warn({ err, sessionId: s.id }, 'session not revoked at close; it will expire');
        }),
      ),
    );
    this.#closed = true;
    for (const s of this.#sessions.values()) s.abandon();
    this.#sessions.clear();
    for (const w of [...this.#watches]) await w.close();
    this.#client.close();
  }

  // ---- internals ---------------------------------------------------------------------------

  async #listPage(
    prefix: string,
    opts: ListOptions,
    limit: number,
    revision: number | undefined,
  ): Promise<ListPage> {
    const startKey = this.#raw(prefix);
    let key = startKey;
    if (opts.startAfter !== undefined) {
      const after = Buffer.concat([this.#raw(opts.startAfter), Buffer.from([0])]);
      if (Buffer.compare(after, key) > 0) key = after;
    }
    const req: IRangeRequest = { key, range_end: prefixEnd(startKey), keys_only: opts.keysOnly === true };
    if (revision !== undefined) req.revision = revision;
    for (let pageLimit = limit; ; pageLimit = Math.max(1, Math.floor(pageLimit / 2))) {
      try {
        const res = await this.#caller.run('list', 'read', (deadline) =>
          this.#kv.range({ ...req, limit: pageLimit }, { deadline }),
        );
        return {
          entries: res.kvs.map((kv) => this.#toEntry(kv)),
          more: res.more,
          revision: this.#version(res.header.revision),
        };
      } catch (err) {
        const tooBig = /larger than max/i.test(String((err as Error)?.message));
        if (!tooBig || pageLimit === 1) throw err;
      }
    }
  }

  /**
   * etcd accepts a watch whose start revision was compacted and cancels it right after; check
   * first so the common case fails at once (a compaction racing with the start goes to onError).
   */
  async #checkNotCompacted(prefix: string, start: Buffer, afterVersion: number): Promise<void> {
    try {
      await this.#caller.run('watch', 'read', (deadline) =>
        this.#kv.range(
          { key: start, range_end: prefixEnd(start), revision: afterVersion, count_only: true },
          { deadline },
        ),
      );
    } catch (err) {
      const message = String((err as Error)?.message);
      if (/compacted/i.test(message)) {
        throw MetadataErrors.make(
          'WATCH_COMPACTED',
          { prefix, version: afterVersion + 1, compacted: 'unknown' },
          err,
        );
      }
      if (!/future revision/i.test(message)) throw err;
    }
  }

  #leaseOf(session: Session | undefined): string | undefined {
    if (session === undefined) return undefined;
    const own = this.#sessions.get(session.id);
    if (!(session instanceof EtcdSession) || (own !== session && session.alive)) {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'session', why: 'not a session of this store' });
    }
    const dead = session.deadError;
    if (dead) throw dead;
    return session.id;
  }

  /** etcd refused a put because a lease is gone: find which session(s), mark them lost. */
  async #leaseGone(ops: readonly TxnOp[], cause: unknown): Promise<Error> {
    const sessions = [...new Set(ops.flatMap((op) => (op.op === 'put' && op.session ? [op.session] : [])))];
    for (const s of sessions) {
      const ttl = await this.#leases
        .leaseTimeToLive({ ID: s.id }, { deadline: Date.now() + this.limits.opAttemptTimeoutMs })
        .then((r) => Number(r.TTL))
        .catch(() => -1);
      if (ttl <= 0) this.#sessions.get(s.id)?.markLost('etcd no longer knows the lease');
    }
    const lost = sessions.find((s) => !s.alive) ?? sessions[0];
    return MetadataErrors.make(
      'SESSION_LOST',
      { sessionId: lost?.id, reason: String((cause as Error)?.message ?? cause) },
      cause,
    );
  }

  #checkOpen(): void {
    if (this.#closed) throw MetadataErrors.make('STORE_CLOSED');
  }

  #raw(key: string): Buffer {
    return Buffer.from(this.rootPrefix + key, 'utf8');
  }

  #key(raw: Buffer): string {
    const s = raw.toString('utf8');
    if (!s.startsWith(this.rootPrefix)) {
      throw MetadataErrors.make('INVALID_KEY', {
        what: 'etcd key',
        value: s,
        why: 'outside the root prefix',
      });
    }
    return s.slice(this.rootPrefix.length);
  }

  #version(revision: string): number {
    const v = Number(revision);
    if (!Number.isSafeInteger(v)) {
      throw MetadataErrors.make('INVALID_ARGUMENT', {
        what: 'etcd revision',
        why: `${revision} is beyond 2^53`,
      });
    }
    return v;
  }

  #toEntry(kv: IKeyValue): Entry {
    const lease = String(kv.lease ?? '0');
    const value = kv.value ?? Buffer.alloc(0);
    return {
      key: this.#key(kv.key),
      value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
      version: this.#version(kv.mod_revision),
      createVersion: this.#version(kv.create_revision),
      ...(lease !== '0' ? { sessionId: lease } : {}),
    };
  }
}

/** '' or '/a[/b...]': no trailing '/', since every key starts with one. */
export function normalizeRootPrefix(prefix: string): string {
  if (prefix === '' || prefix === '/') return '';
  if (!/^(\/[^/\0]+)+$/.test(prefix)) {
    throw MetadataErrors.make('INVALID_ARGUMENT', {
      what: 'root prefix',
      why: `${JSON.stringify(prefix)} must look like /name[/name...]`,
    });
  }
  return prefix;
}

/** The smallest key greater than every key starting with `prefix` (etcd's range_end). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // all 0xff: to the end of the keyspace
}
