/**
 * A list-then-watch mirror of the keys under some prefixes, re-listed after a watch failure, with
 * a change callback. Used by autorecovery for bookie registrations, decommission marks and
 * under-replication markers (small key sets).
 */
import type { Logger } from '../../../lib/log/index.ts';
import type { Entry, MetadataStore, Watch, WatchEvent } from '../../../lib/metadata/store.ts';

export class PrefixMirror {
  readonly #store: MetadataStore;
  readonly #prefixes: readonly string[];
  readonly #onChange: () => void;
  readonly #log: Logger;
  readonly #resyncDelayMs: number;
  readonly entries = new Map<string, Entry>();
  #watches: Watch[] = [];
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    store: MetadataStore,
    prefixes: readonly string[],
    onChange: () => void,
    log: Logger,
    resyncDelayMs: number,
  ) {
    this.#store = store;
    this.#prefixes = prefixes;
    this.#onChange = onChange;
    this.#log = log;
    this.#resyncDelayMs = resyncDelayMs;
  }

  async start(): Promise<void> {
    await this.#sync();
  }

  async #sync(): Promise<void> {
    await this.#closeWatches();
    const fresh = new Map<string, Entry>();
    const revisions: number[] = [];
    for (const prefix of this.#prefixes) {
      const page = await this.#store.list(prefix);
      revisions.push(page.revision);
      for (const e of page.entries) fresh.set(e.key, e);
      for (const e of await this.#store.listAll(prefix)) fresh.set(e.key, e);
    }
    this.entries.clear();
    for (const [k, e] of fresh) this.entries.set(k, e);
    const onError = (err: Error) => this.#failed(err);
    this.#watches = await Promise.all(
      this.#prefixes.map((prefix, i) =>
        this.#store.watch(
          prefix,
          { onEvent: (ev) => this.#apply(ev), onError },
          { afterVersion: revisions[i] },
        ),
      ),
    );
    this.#onChange();
  }

  #apply(ev: WatchEvent): void {
    if (ev.type === 'put') {
      const cur = this.entries.get(ev.entry.key);
      if (!cur || cur.version < ev.entry.version) this.entries.set(ev.entry.key, ev.entry);
    } else {
      const cur = this.entries.get(ev.key);
      if (cur && cur.version < ev.version) this.entries.delete(ev.key);
    }
    this.#onChange();
  }

  #failed(err: Error): void {
    if (this.#closed) return;
    this.#log.warn({ err: err.message }, 'autorecovery watch failed; re-listing');
    const retry = () => {
      if (this.#closed) return;
      this.#sync().catch(() => {
        this.#timer = setTimeout(retry, this.#resyncDelayMs);
      });
    };
    this.#timer = setTimeout(retry, this.#resyncDelayMs);
  }

  async #closeWatches(): Promise<void> {
    const ws = this.#watches;
    this.#watches = [];
    await Promise.all(ws.map((w) => w.close().catch(() => undefined)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#closeWatches();
  }
}
