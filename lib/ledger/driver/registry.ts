/**
 * Bookie discovery (internals.md §2.5): bookies register a BookieRegistration under a prefix of
 * the metadata store, bound to their session. The registry watches the prefixes, lists them, and
 * answers from memory: writable bookies for placement, any registered bookie's address for reads.
 * A watch that breaks (compaction, lost connection) is replaced and the prefix listed again.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { type BookieRegistration, BookieRegistrationSchema } from '../../gen/magnetar/meta/v1/meta_pb.ts';
import type { MetadataStore, Watch, WatchHandlers } from '../../metadata/store.ts';
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
  const watches: (Watch | undefined)[] = [];
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

  const relist = async (prefix: string) => {
    const entries = await opts.store.listAll(prefix);
    changes++;
    for (const key of [...byKey.keys()]) if (key.startsWith(prefix)) byKey.delete(key);
    for (const e of entries) {
      const info = parse(e.key, e.value);
      if (info) byKey.set(e.key, info);
    }
  };

  const onEvent = (ev: Parameters<WatchHandlers['onEvent']>[0]) => {
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
  const follow = async (prefix: string, index: number): Promise<void> => {
    await watches[index]?.close().catch(() => undefined);
    watches[index] = await opts.store.watch(prefix, {
      onEvent,
      onError(err) {
        opts.onWatchError?.(err);
        if (!closed) void refollow(prefix, index);
      },
    });
    await relist(prefix);
  };

  /** A broken watch is replaced (with a pause between failed attempts) until close. */
  const refollow = async (prefix: string, index: number): Promise<void> => {
    while (!closed) {
      try {
        await follow(prefix, index);
        return;
      } catch (e) {
        opts.onWatchError?.(e as Error);
        await new Promise((r) => setTimeout(r, REWATCH_DELAY_MS).unref());
      }
    }
  };

  for (const [index, prefix] of prefixes.entries()) await follow(prefix, index);

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
      await Promise.all(watches.map((w) => w?.close()));
    },
  };
}
