/**
 * A watch-fed read cache over one key prefix of the metadata store.
 *
 * - While the watch is up, a key read once (present or absent) is answered from memory; every
 *   change under the prefix arrives through the watch and replaces the cached value.
 * - Read-your-writes: the writer reports its own successful writes (`noteWrite`), so the next read
 *   on this process sees them at once, before the watch event arrives.
 * - A read racing with a watch event never overwrites the newer event: each key remembers the
 *   sequence number of its last event, and a read that started before it is discarded.
 * - Versions only move forward: an event or write older than the cached version is ignored.
 * - If the watch fails, the cache empties and reads go to the store until it is re-established.
 * - At most `maxEntries` keys are kept (oldest inserted are dropped first).
 */
import type { Entry, MetadataStore, Watch, WatchEvent } from '../metadata/store.ts';

interface Cached {
  readonly entry: Entry | undefined;
  /** Version of the value, or of the delete for an absent key (0 = never existed as far as known). */
  readonly version: number;
}

export interface WatchedCacheOptions {
  maxEntries: number;
  /** Wait before re-establishing a failed watch. */
  rewatchDelayMs: number;
  onError?: (err: Error) => void;
  /** Called for every change under the prefix (after the cache is updated). */
  onChange?: (key: string) => void;
}

export class WatchedCache {
  private readonly store: MetadataStore;
  private readonly prefix: string;
  private readonly opts: WatchedCacheOptions;
  private readonly entries = new Map<string, Cached>();
  private readonly lastEventSeq = new Map<string, number>();
  private seq = 0;
  /** Sequence number at which `lastEventSeq` was last cleared (its size bound). */
  private clearedAtSeq = 0;
  private watch: Watch | undefined;
  private watching = false;
  private closed = false;
  private rewatchTimer: NodeJS.Timeout | undefined;

  constructor(store: MetadataStore, prefix: string, opts: WatchedCacheOptions) {
    this.store = store;
    this.prefix = prefix;
    this.opts = opts;
  }

  async start(): Promise<void> {
    this.watch = await this.store.watch(this.prefix, {
      onEvent: (ev) => this.onEvent(ev),
      onError: (err) => this.onWatchError(err),
    });
    this.watching = true;
  }

  get size(): number {
    return this.entries.size;
  }

  private onEvent(ev: WatchEvent): void {
    const key = ev.type === 'put' ? ev.entry.key : ev.key;
    const version = ev.type === 'put' ? ev.entry.version : ev.version;
    this.lastEventSeq.set(key, ++this.seq);
    if (this.lastEventSeq.size > this.opts.maxEntries * 2) {
      // Bounded memory: forget per-key sequence numbers; reads in flight now count as raced.
      this.lastEventSeq.clear();
      this.clearedAtSeq = this.seq;
    }
    const cur = this.entries.get(key);
    if (cur && cur.version > version) return;
    // Only keys someone read are kept; others are fetched on first read.
    if (cur) this.set(key, { entry: ev.type === 'put' ? ev.entry : undefined, version });
    this.opts.onChange?.(key);
  }

  private onWatchError(err: Error): void {
    this.watching = false;
    this.entries.clear();
    this.opts.onError?.(err);
    void this.watch?.close().catch(() => undefined);
    this.watch = undefined;
    if (this.closed) return;
    this.rewatchTimer = setTimeout(() => {
      this.rewatchTimer = undefined;
      if (this.closed) return;
      this.start().catch((e: Error) => this.onWatchError(e));
    }, this.opts.rewatchDelayMs);
    this.rewatchTimer.unref();
  }

  private set(key: string, value: Cached): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  /** The entry for `key`: from memory when the watch vouches for it, else from the store. */
  async get(key: string): Promise<Entry | undefined> {
    const hit = this.watching ? this.entries.get(key) : undefined;
    if (hit) return hit.entry;
    const startSeq = this.seq;
    const entry = await this.store.get(key);
    const raced = (this.lastEventSeq.get(key) ?? 0) > startSeq || this.clearedAtSeq > startSeq;
    if (this.watching && !raced) {
      const cur = this.entries.get(key);
      const version = entry?.version ?? 0;
      if (!cur || cur.version <= version) this.set(key, { entry, version });
    }
    return entry;
  }

  /** Record a write this process made (read-your-writes). `entry` undefined = deleted. */
  noteWrite(key: string, entry: Entry | undefined, version: number): void {
    const cur = this.entries.get(key);
    if (cur && cur.version > version) return;
    this.lastEventSeq.set(key, ++this.seq);
    if (this.watching) this.set(key, { entry, version });
  }

  /** Forget a key (after a write whose outcome is unknown). */
  invalidate(key: string): void {
    this.entries.delete(key);
    this.lastEventSeq.set(key, ++this.seq);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.rewatchTimer) clearTimeout(this.rewatchTimer);
    this.watching = false;
    this.entries.clear();
    await this.watch?.close();
    this.watch = undefined;
  }
}
