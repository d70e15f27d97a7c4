/**
 * Bookie discovery (internals.md §2.5): bookies register a BookieRegistration under a prefix of
 * the metadata store, bound to their session. The registry watches the prefixes, lists them, and
 * answers from memory: writable bookies for placement, any registered bookie's address for reads.
 * One watch covers both prefixes (their common parent): a bookie moving to read-only deletes one
 * key and puts the other in one transaction, and one watch delivers both events together, so the
 * bookie is never seen in neither list. A watch that breaks (compaction, lost connection) is
 * replaced and the prefixes listed again.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { type BookieRegistration, BookieRegistrationSchema } from '../../gen/magnetar/meta/v1/meta_pb.ts';
import type { MetadataStore, Watch, WatchHandlers } from '../../metadata/store.ts';
import { assert } from '../../assert.ts';
import type { BookieCandidate } from '../protocol/placement.ts';

const REWATCH_DELAY_MS = 1_000;

export interface BookieInfo extends BookieCandidate {
  readonly grpcAddress: string;
  readonly readOnly: boolean;
}

export interface BookieRegistry {
  /** Registered, writable bookies (candidates for new ensembles and replacements). */
  writable(): readonly BookieInfo[];
  /** Any registered bookie (writable or read-only). */
  get(bookieId: string): BookieInfo | undefined;
  close(): Promise<void>;
}

export interface StoreRegistryOptions {
  readonly store: MetadataStore;
  /** Prefix of writable registrations (values: BookieRegistration). */
  readonly writablePrefix: string;
  /** Prefix of read-only registrations, if they live apart; otherwise `read_only` in the value says. */
  readonly readOnlyPrefix?: string;
  /** Called when the watch breaks and the registry re-lists (for logging). */
  readonly onWatchError?: (err: Error) => void;
}

/** List and follow the registrations; resolves once the first listing is loaded. */
export async function watchBookieRegistry(opts: StoreRegistryOptions): Promise<BookieRegistry> {
  const byKey = new Map<string, BookieInfo>();
  const prefixes = [opts.writablePrefix, ...(opts.readOnlyPrefix ? [opts.readOnlyPrefix] : [])];
  const watchPrefix = commonParent(prefixes);
  const relevant = (key: string) => prefixes.some((p) => key.startsWith(p));
  let watch: Watch | undefined;
  let closed = false;
  /** Bumped on every change of byKey. */
  let changes = 0;

  const parse = (key: string, value: Uint8Array): BookieInfo | undefined => {
    let reg: BookieRegistration;
    try {
      reg = fromBinary(BookieRegistrationSchema, value);
    } catch {
      return undefined; // a malformed registration names no usable bookie
    }
    if (!reg.bookieId || !reg.grpcAddress) return undefined;
    const underReadOnly = opts.readOnlyPrefix !== undefined && key.startsWith(opts.readOnlyPrefix);
    return {
      id: reg.bookieId,
      grpcAddress: reg.grpcAddress,
      readOnly: reg.readOnly || underReadOnly,
      labels: { ...reg.labels },
    };
  };

  const relist = async () => {
    const entries = await opts.store.listAll(watchPrefix);
    changes++;
    byKey.clear();
    for (const e of entries) {
      if (!relevant(e.key)) continue;
      const info = parse(e.key, e.value);
      if (info) byKey.set(e.key, info);
    }
  };

  const onEvent = (ev: Parameters<WatchHandlers['onEvent']>[0]) => {
    if (!relevant(ev.type === 'delete' ? ev.key : ev.entry.key)) return;
    changes++;
    if (ev.type === 'delete') {
      byKey.delete(ev.key);
      return;
    }
    const info = parse(ev.entry.key, ev.entry.value);
    if (info) byKey.set(ev.entry.key, info);
    else byKey.delete(ev.entry.key);
  };

  /** Watch first, then list: a change between the two arrives by the watch, in order. */
  const follow = async (): Promise<void> => {
    await watch?.close().catch(() => undefined);
    watch = await opts.store.watch(watchPrefix, {
      onEvent,
      onError(err) {
        opts.onWatchError?.(err);
        if (!closed) void refollow();
      },
    });
    await relist();
  };

  /** A broken watch is replaced (with a pause between failed attempts) until close. */
  const refollow = async (): Promise<void> => {
    while (!closed) {
      try {
        await follow();
        return;
      } catch (e) {
        opts.onWatchError?.(e as Error);
        await new Promise((r) => setTimeout(r, REWATCH_DELAY_MS).unref());
      }
    }
  };

  await follow();

  /** Views by bookie id, rebuilt after a change (the transport resolves an address per call). */
  let view: { byId: Map<string, BookieInfo>; writable: BookieInfo[] } | undefined;
  let seenVersion = -1;
  const current = () => {
    if (view && seenVersion === changes) return view;
    const byId = new Map<string, BookieInfo>();
    for (const info of byKey.values()) if (!byId.has(info.id) || !info.readOnly) byId.set(info.id, info);
    const readOnly = new Set([...byKey.values()].filter((i) => i.readOnly).map((i) => i.id));
    // A bookie listed read-only anywhere is not writable.
    const writable = [...byId.values()].filter((i) => !i.readOnly && !readOnly.has(i.id));
    view = { byId, writable };
    seenVersion = changes;
    return view;
  };

  return {
    writable: () => current().writable,
    get: (bookieId) => current().byId.get(bookieId),
    async close() {
      closed = true;
      await watch?.close();
    },
  };
}

/** The longest common prefix of `prefixes` that ends at a '/' (or the one prefix given). */
function commonParent(prefixes: readonly string[]): string {
  if (prefixes.length === 1) return prefixes[0];
  let common = prefixes[0];
  for (const p of prefixes.slice(1)) {
    let i = 0;
    while (i < common.length && i < p.length && common[i] === p[i]) i++;
    common = common.slice(0, i);
  }
  const parent = common.slice(0, common.lastIndexOf('/') + 1);
  assert(parent.length > 0, 'bookie registration prefixes must share a parent', { prefixes });
  return parent;
}
