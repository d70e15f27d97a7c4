/**
 * The read path of one managed ledger: entries come from the entry cache when present (tailing
 * readers), otherwise from the bookies with bounded read-ahead that fills the cache (catch-up
 * readers). Read handles of closed ledgers are kept in a small LRU.
 */
import type { LedgerClient, ReadableLedger, WritableLedger } from '../../../lib/ledger/api.ts';
import type { ManagedEntry, Position } from './api.ts';
import { comparePositions, formatPosition } from './api.ts';
import type { EntryCache } from './entry-cache.ts';
import { mlErrors } from './errors.ts';
import type { LedgerList } from './ledger-list.ts';
import type { ManagedLedgerSettings } from './limits.ts';

export interface ReaderContext {
  readonly name: string;
  readonly client: LedgerClient;
  readonly cache: EntryCache;
  readonly list: LedgerList;
  readonly settings: ManagedLedgerSettings;
  readonly password: Uint8Array;
  /** The writer's handle of a ledger this topic writes or is still sealing (reads go through it). */
  writer(ledgerId: number): WritableLedger | undefined;
}

export interface ReadStats {
  bookieReads: number;
  entriesFromBookies: number;
  entriesFromCache: number;
}

export class EntryReader {
  private readonly ctx: ReaderContext;
  private readonly handles = new Map<number, Promise<ReadableLedger>>();
  readonly stats: ReadStats = { bookieReads: 0, entriesFromBookies: 0, entriesFromCache: 0 };

  constructor(ctx: ReaderContext) {
    this.ctx = ctx;
  }

  /**
   * Up to `maxEntries` consecutive entries from `from` (normalized), stopping before `before`
   * (exclusive) and after about `maxBytes` (at least one entry).
   */
  async read(
    from: Position,
    wantEntries: number,
    wantBytes: number,
    before?: Position,
  ): Promise<ManagedEntry[]> {
    const { list, cache, settings } = this.ctx;
    const maxEntries = Math.min(wantEntries, settings.maxEntriesPerRead);
    const maxBytes = Math.min(wantBytes, settings.maxBytesPerRead);
    const out: ManagedEntry[] = [];
    let bytes = 0;
    let p = list.normalize(from);
    const last = list.lastPosition();
    const room = () =>
      out.length < maxEntries &&
      (out.length === 0 || bytes < maxBytes) &&
      comparePositions(p, last) <= 0 &&
      list.hasEntry(p) &&
      (!before || comparePositions(p, before) < 0);
    while (room()) {
      const cached = cache.get(p);
      if (cached) {
        this.stats.entriesFromCache++;
        out.push({ position: p, data: cached });
        bytes += cached.byteLength;
        p = list.nextPosition(p);
        continue;
      }
      const run = await this.readRun(p, maxEntries - out.length, last, before);
      const start = p;
      for (const e of run) {
        if (!room() || comparePositions(e.position, p) !== 0) break;
        out.push(e);
        bytes += e.data.byteLength;
        p = list.nextPosition(p);
      }
      if (comparePositions(p, start) === 0) break; // nothing readable here (yet)
    }
    return out;
  }

  /** The entries at `positions` that still exist, in the given order (cache first). */
  async readPositions(positions: readonly Position[]): Promise<ManagedEntry[]> {
    const out: ManagedEntry[] = [];
    for (const p of positions.slice(0, this.ctx.settings.maxEntriesPerRead)) {
      if (!this.ctx.list.hasEntry(p) || comparePositions(p, this.ctx.list.lastPosition()) > 0) continue;
      const cached = this.ctx.cache.get(p);
      if (cached) {
        this.stats.entriesFromCache++;
        out.push({ position: p, data: cached });
        continue;
      }
      const [e] = await this.readFromLedger(p.ledgerId, p.entryId, p.entryId);
      if (e) out.push(e);
    }
    return out;
  }

  /** A bookie read starting at `p` (a cache miss) with read-ahead, inserted into the cache. */
  private async readRun(
    p: Position,
    wanted: number,
    last: Position,
    before?: Position,
  ): Promise<ManagedEntry[]> {
    const { list, settings } = this.ctx;
    const record = list.get(p.ledgerId);
    if (!record) return [];
    let end = p.ledgerId === last.ledgerId ? last.entryId : record.entries - 1;
    if (before && before.ledgerId === p.ledgerId) end = Math.min(end, before.entryId - 1);
    const avg = record.entries > 0 ? Math.max(1, record.sizeBytes / record.entries) : 1;
    const byBytes = Math.max(1, Math.floor(settings.readAheadMaxBytes / avg));
    const count = Math.min(Math.max(wanted, settings.readAheadEntries), byBytes);
    end = Math.min(end, p.entryId + count - 1);
    if (end < p.entryId) return [];
    const entries = await this.readFromLedger(p.ledgerId, p.entryId, end);
    for (const e of entries) this.ctx.cache.put(e.position, e.data);
    return entries;
  }

  private async readFromLedger(ledgerId: number, first: number, last: number): Promise<ManagedEntry[]> {
    this.stats.bookieReads++;
    try {
      const handle = await this.handle(ledgerId, last);
      const entries = await handle.read(first, last);
      this.stats.entriesFromBookies += entries.length;
      return entries.map((e) => ({ position: { ledgerId, entryId: e.entryId }, data: e.payload }));
    } catch (err) {
      if (mlErrors.is(err, 'READ_FAILED')) throw err;
      throw mlErrors.make(
        'READ_FAILED',
        {
          name: this.ctx.name,
          position: formatPosition({ ledgerId, entryId: first }),
          reason: (err as Error).message,
        },
        err,
      );
    }
  }

  /** A handle able to read up to `needed`: the writer's, or a cached read handle. */
  private async handle(ledgerId: number, needed: number): Promise<ReadableLedger> {
    const writer = this.ctx.writer(ledgerId);
    if (writer) return writer;
    const cached = this.handles.get(ledgerId);
    if (cached) {
      this.handles.delete(ledgerId); // re-insert: most recently used last
      this.handles.set(ledgerId, cached);
      const h = await cached;
      if (h.closed || h.lastAddConfirmed >= needed) return h;
    }
    const opening = this.open(ledgerId, needed);
    this.handles.set(ledgerId, opening);
    opening.catch(() => this.handles.delete(ledgerId));
    this.evictHandles();
    return opening;
  }

  private async open(ledgerId: number, needed: number): Promise<ReadableLedger> {
    const { client, password } = this.ctx;
    const h = await client.openLedger(ledgerId, { recovery: false, password });
    if (h.closed || h.lastAddConfirmed >= needed) return h;
    // A ledger this topic stopped writing but could not seal (its close failed): the list's entry
    // count is authoritative, and recovery (fencing a ledger nobody writes any more) makes the LAC
    // reach it.
    await h.release();
    return client.openLedger(ledgerId, { recovery: true, password });
  }

  private evictHandles(): void {
    while (this.handles.size > this.ctx.settings.maxReadHandles) {
      const [oldest, h] = this.handles.entries().next().value as [number, Promise<ReadableLedger>];
      this.handles.delete(oldest);
      h.then((x) => x.release()).catch(() => undefined);
    }
  }

  /** Release the read handle of a ledger (trimmed or deleted). */
  async forget(ledgerId: number): Promise<void> {
    const h = this.handles.get(ledgerId);
    this.handles.delete(ledgerId);
    if (h) await h.then((x) => x.release()).catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map((h) => h.then((x) => x.release()).catch(() => undefined)));
  }
}
