/**
 * Garbage collection of ledgers deleted from the metadata store while this bookie was not told
 * (it was down, or the deleter gave up): BookKeeper's GarbageCollectorThread compares local
 * ledgers with the metadata. Ledger metadata is written before any entry reaches a bookie, so a
 * local ledger whose metadata key is absent was deleted. Guards: only ledgers this process has
 * known for `metadataGcGraceMs`; at most `metadataGcBatch` lookups per run (round-robin); a
 * lookup that fails deletes nothing; and nothing is deleted when the cluster has no ledger
 * metadata at all or when none of a batch of local ledgers is known there: that smells of a
 * wrong cluster name or metadata store, not of deletions.
 */
import type { Logger } from '../../../lib/log/index.ts';
import * as keys from '../../../lib/metadata/keys.ts';
import type { MetadataStore } from '../../../lib/metadata/store.ts';
import type { BookieConfig } from '../config.ts';
import type { LedgerStorage } from '../storage/ledger-storage.ts';

export type LedgerGcConfig = Pick<
  BookieConfig,
  'clusterName' | 'metadataGcIntervalMs' | 'metadataGcGraceMs' | 'metadataGcBatch'
>;

/** A batch this large with no ledger known in the metadata is not trusted. */
const SUSPICIOUS_BATCH = 10;

export class MetadataLedgerGc {
  readonly #store: MetadataStore;
  readonly #storage: LedgerStorage;
  readonly #cfg: LedgerGcConfig;
  readonly #log: Logger;
  /** When this process first saw each ledger. */
  readonly #firstSeen = new Map<number, number>();
  #cursor = -1;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(store: MetadataStore, storage: LedgerStorage, cfg: LedgerGcConfig, log: Logger) {
    this.#store = store;
    this.#storage = storage;
    this.#cfg = cfg;
    this.#log = log;
  }

  start(): void {
    this.#timer = setInterval(() => void this.runOnce(), this.#cfg.metadataGcIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Check the next batch of local ledgers; returns the ids deleted. */
  async runOnce(now = Date.now()): Promise<number[]> {
    if (this.#running) return [];
    this.#running = true;
    try {
      const ids = [...this.#storage.ledgers.keys()].sort((a, b) => a - b);
      for (const id of ids) if (!this.#firstSeen.has(id)) this.#firstSeen.set(id, now);
      for (const id of this.#firstSeen.keys()) if (!this.#storage.ledgers.has(id)) this.#firstSeen.delete(id);
      const start = ids.findIndex((id) => id > this.#cursor);
      const batch = (start < 0 ? ids : [...ids.slice(start), ...ids.slice(0, start)]).slice(
        0,
        this.#cfg.metadataGcBatch,
      );
      const prefix = keys.ledgersPrefix(this.#cfg.clusterName);
      if ((await this.#store.list(prefix, { limit: 1, keysOnly: true })).entries.length === 0) return [];
      const missing: number[] = [];
      let checked = 0;
      for (const id of batch) {
        this.#cursor = id;
        if (now - (this.#firstSeen.get(id) ?? now) < this.#cfg.metadataGcGraceMs) continue;
        checked++;
        if ((await this.#store.get(keys.ledger(this.#cfg.clusterName, id))) === undefined) missing.push(id);
      }
      if (checked >= SUSPICIOUS_BATCH && missing.length === checked) {
        this.#log.error(
          { checked, prefix },
          'none of the checked local ledgers has metadata: wrong cluster name or metadata store? deleting nothing',
        );
        return [];
      }
      const deleted: number[] = [];
      for (const id of missing) {
        await this.#storage.deleteLedger(id);
        deleted.push(id);
      }
      if (deleted.length > 0) this.#log.info({ ledgers: deleted }, 'deleted ledgers whose metadata is gone');
      return deleted;
    } catch (err) {
      this.#log.warn({ err }, 'metadata ledger check failed; nothing more deleted this round');
      return [];
    } finally {
      this.#running = false;
    }
  }
}
