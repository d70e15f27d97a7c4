/**
 * Watches of the embedded store, with a bounded history of recent events so a watch can start at
 * an earlier version (list-then-watch). Events older than the history (or from before this
 * process opened the store) are gone: starting before `floor` is WATCH_COMPACTED.
 */
import type { Logger } from '../log/index.ts';
import { MetadataErrors } from './errors.ts';
import type { MetadataLimits } from './limits.ts';
import type { Watch, WatchEvent, WatchHandlers } from './store.ts';

interface Watcher {
  readonly prefix: string;
  readonly handlers: WatchHandlers;
  closed: boolean;
}

const keyOf = (e: WatchEvent) => (e.type === 'put' ? e.entry.key : e.key);

export class EmbeddedWatches {
  readonly #limits: MetadataLimits;
  readonly #logger: Logger;
  readonly #watchers = new Set<Watcher>();
  /** Recent revisions and their events, oldest first; every event after `#floor` is here. */
  readonly #history: { version: number; events: WatchEvent[] }[] = [];
  #historyEvents = 0;
  #floor: number;

  constructor(limits: MetadataLimits, logger: Logger, openedAtVersion: number) {
    this.#limits = limits;
    this.#logger = logger;
    this.#floor = openedAtVersion;
  }

  /** Register a watcher that first receives every kept event after `afterVersion`. */
  add(prefix: string, handlers: WatchHandlers, afterVersion: number): Watch {
    if (afterVersion < this.#floor) {
      throw MetadataErrors.make('WATCH_COMPACTED', {
        prefix,
        version: afterVersion + 1,
        compacted: this.#floor,
      });
    }
    if (this.#watchers.size >= this.#limits.maxWatches) {
      throw MetadataErrors.make('INVALID_ARGUMENT', {
        what: 'watch',
        why: `maxWatches ${this.#limits.maxWatches} open`,
      });
    }
    const watcher: Watcher = { prefix, handlers, closed: false };
    for (const rev of this.#history) {
      if (rev.version > afterVersion) this.#deliver(watcher, rev.events);
    }
    this.#watchers.add(watcher);
    return {
      close: async () => {
        watcher.closed = true;
        this.#watchers.delete(watcher);
      },
    };
  }

  /** Events of one durable revision, in order. */
  publish(version: number, events: WatchEvent[]): void {
    if (events.length === 0) return;
    this.#history.push({ version, events });
    this.#historyEvents += events.length;
    while (this.#historyEvents > this.#limits.watchHistoryEvents && this.#history.length > 1) {
      const old = this.#history.shift()!;
      this.#historyEvents -= old.events.length;
      this.#floor = old.version;
    }
    for (const w of this.#watchers) this.#deliver(w, events);
  }

  failAll(err: Error): void {
    for (const w of [...this.#watchers]) {
      w.closed = true;
      this.#watchers.delete(w);
      try {
        w.handlers.onError?.(err);
      } catch (e) {
        this.#logger.error({ err: e, prefix: w.prefix }, 'watch onError handler threw');
      }
    }
  }

  closeAll(): void {
    for (const w of this.#watchers) w.closed = true;
    this.#watchers.clear();
  }

  #deliver(w: Watcher, events: readonly WatchEvent[]): void {
    for (const event of events) {
      if (w.closed) return;
      if (!keyOf(event).startsWith(w.prefix)) continue;
      try {
        w.handlers.onEvent(event);
      } catch (err) {
        this.#logger.error({ err, prefix: w.prefix }, 'watch handler threw; event skipped by that handler');
      }
    }
  }
}
