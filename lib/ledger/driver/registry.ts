/**
 * Bookie discovery (internals.md §2.5): bookies register a BookieRegistration under a prefix of
 * the metadata store, bound to their session. The registry lists the prefixes, then follows them
 * with a watch (re-listing if the watch breaks), and answers from memory: writable bookies for
 * placement, any registered bookie's address for reads.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { type BookieRegistration, BookieRegistrationSchema } from '../../gen/magnetar/meta/v1/meta_pb.ts';
import type { MetadataStore, Watch } from '../../metadata/store.ts';
import type { BookieCandidate } from '../protocol/placement.ts';

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
  const watches: Watch[] = [];
  let closed = false;

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
    for (const key of [...byKey.keys()]) if (key.startsWith(prefix)) byKey.delete(key);
    for (const e of entries) {
      const info = parse(e.key, e.value);
      if (info) byKey.set(e.key, info);
    }
  };

  for (const prefix of prefixes) {
    watches.push(
      await opts.store.watch(prefix, {
        onEvent(ev) {
          if (ev.type === 'delete') {
            byKey.delete(ev.key);
            return;
          }
          const info = parse(ev.entry.key, ev.entry.value);
          if (info) byKey.set(ev.entry.key, info);
          else byKey.delete(ev.entry.key);
        },
        onError(err) {
          opts.onWatchError?.(err);
          if (!closed) void relist(prefix).catch((e: Error) => opts.onWatchError?.(e));
        },
      }),
    );
    await relist(prefix);
  }

  return {
    writable() {
      const seen = new Map<string, BookieInfo>();
      for (const info of byKey.values()) if (!info.readOnly) seen.set(info.id, info);
      // A bookie listed read-only anywhere is not writable.
      for (const info of byKey.values()) if (info.readOnly) seen.delete(info.id);
      return [...seen.values()];
    },
    get(bookieId) {
      let found: BookieInfo | undefined;
      for (const info of byKey.values()) if (info.id === bookieId && (!found || !info.readOnly)) found = info;
      return found;
    },
    async close() {
      closed = true;
      await Promise.all(watches.map((w) => w.close()));
    },
  };
}
