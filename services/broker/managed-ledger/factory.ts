/**
 * The broker-wide managed-ledger factory: one per broker process. Shares the entry cache budget,
 * the ledger client and the metadata store across topics, opens each topic once (concurrent
 * opens of one name share the work), and runs the periodic checks (time-based rollover,
 * retention trimming, cache invalidation) on timers that never keep the process alive.
 */
import type { Logger } from 'pino';
import type { LedgerClient } from '../../../lib/ledger/api.ts';
import { silentLogger } from '../../../lib/log/index.ts';
import type { MetadataStore } from '../../../lib/metadata/store.ts';
import type {
  EntryCacheStats,
  ManagedLedger,
  ManagedLedgerConfig,
  ManagedLedgerFactory,
  StoredManagedLedgerInfo,
} from './api.ts';
import { decodeLedgerList } from './codec.ts';
import { EntryCacheManager } from './entry-cache.ts';
import { mlErrors } from './errors.ts';
import { toLedgerInfo } from './ledger-list.ts';
import { defaultSettings, type ManagedLedgerSettings, resolveTopicConfig } from './limits.ts';
import { ManagedLedgerImpl } from './managed-ledger.ts';
import { type MlContext, openLedgerList } from './ml-open.ts';
import { MlStore } from './ml-store.ts';

export interface ManagedLedgerFactoryOptions {
  readonly store: MetadataStore;
  readonly client: LedgerClient;
  /** Cluster name: the metadata keys live under /<cluster>/managed-ledgers and /<cluster>/cursors. */
  readonly cluster: string;
  readonly settings?: Partial<ManagedLedgerSettings>;
  readonly log?: Logger;
  /** Clock and randomness (tests inject them; defaults Date.now / Math.random). */
  readonly now?: () => number;
  readonly random?: () => number;
}

export class ManagedLedgerFactoryImpl implements ManagedLedgerFactory {
  readonly settings: ManagedLedgerSettings;
  private readonly ctx: MlContext;
  private readonly cacheManager: EntryCacheManager;
  private readonly ledgers = new Map<string, Promise<ManagedLedgerImpl>>();
  /** Every instance not yet closed (including fenced ones no longer in `ledgers`). */
  private readonly live = new Set<ManagedLedgerImpl>();
  private readonly timers: NodeJS.Timeout[] = [];
  private shutDown = false;

  constructor(opts: ManagedLedgerFactoryOptions) {
    this.settings = defaultSettings(opts.settings ?? {});
    const s = this.settings;
    this.ctx = {
      meta: new MlStore(opts.store, opts.cluster, s),
      client: opts.client,
      settings: s,
      log: opts.log ?? silentLogger('broker', 'managed-ledger'),
      password: new TextEncoder().encode(s.ledgerPassword),
      now: opts.now ?? Date.now,
      random: opts.random ?? Math.random,
    };
    this.cacheManager = new EntryCacheManager({
      maxSizeBytes: s.cacheMaxSizeBytes,
      evictionWatermark: s.cacheEvictionWatermark,
      maxEntrySizeBytes: s.cacheMaxEntrySizeBytes,
    });
    this.every(s.rolloverCheckIntervalMs, (ml) => ml.checkRollover(this.ctx.now()));
    this.every(s.retentionCheckIntervalMs, (ml) => void ml.trimConsumedLedgers().catch(() => undefined));
    this.every(s.cacheInvalidationIntervalMs, (ml) => ml.invalidateConsumedCache());
  }

  private every(intervalMs: number, fn: (ml: ManagedLedgerImpl) => void): void {
    const t = setInterval(() => {
      for (const p of this.ledgers.values())
        p.then((ml) => {
          if (ml.state === 'Open' || ml.state === 'Terminated') fn(ml);
        }).catch(() => undefined);
    }, intervalMs);
    t.unref();
    this.timers.push(t);
  }

  open(name: string, config?: Partial<ManagedLedgerConfig>): Promise<ManagedLedger> {
    if (this.shutDown) return Promise.reject(mlErrors.make('FACTORY_SHUT_DOWN', {}));
    const existing = this.ledgers.get(name);
    if (existing) return existing;
    const opening = this.doOpen(name, config ?? {});
    this.ledgers.set(name, opening);
    opening.catch(() => {
      if (this.ledgers.get(name) === opening) this.ledgers.delete(name);
    });
    return opening;
  }

  private async doOpen(name: string, override: Partial<ManagedLedgerConfig>): Promise<ManagedLedgerImpl> {
    this.ctx.meta.checkNames(name);
    const config = resolveTopicConfig(this.settings, override);
    const opened = await openLedgerList(this.ctx, name, config);
    const ml = new ManagedLedgerImpl(
      this.ctx,
      name,
      config,
      opened,
      this.cacheManager.createCache(name),
      (gone) => {
        this.live.delete(gone);
        this.forget(gone);
      },
    );
    this.live.add(ml);
    try {
      await ml.recoverCursors();
    } catch (err) {
      await ml.close().catch(() => undefined);
      throw err;
    }
    // A fenced instance is useless: the next open() must start over.
    ml.onStateChange((state) => {
      if (state === 'Fenced') this.forget(ml);
    });
    this.ctx.log.info(
      { name, ledgers: ml.list.length, cursors: ml.cursors().length },
      'managed ledger opened',
    );
    return ml;
  }

  private forget(ml: ManagedLedgerImpl): void {
    const p = this.ledgers.get(ml.name);
    if (!p) return;
    p.then((cur) => {
      if (cur === ml && this.ledgers.get(ml.name) === p) this.ledgers.delete(ml.name);
    }).catch(() => undefined);
  }

  async exists(name: string): Promise<boolean> {
    this.ctx.meta.checkNames(name);
    return (await this.ctx.meta.get(this.ctx.meta.ledgerKey(name), name)) !== undefined;
  }

  async getStoredInfo(name: string): Promise<StoredManagedLedgerInfo | undefined> {
    this.ctx.meta.checkNames(name);
    const e = await this.ctx.meta.get(this.ctx.meta.ledgerKey(name), name);
    if (!e) return undefined;
    const stored = decodeLedgerList(e.value, name);
    return {
      ledgers: stored.ledgers.map(toLedgerInfo),
      terminatedPosition: stored.terminatedPosition,
      properties: stored.properties,
      cursorNames: await this.ctx.meta.listCursorNames(name),
    };
  }

  async delete(name: string): Promise<void> {
    if (!(await this.exists(name))) throw mlErrors.make('MANAGED_LEDGER_NOT_FOUND', { name });
    const ml = await this.open(name);
    await ml.delete();
  }

  cacheStats(): EntryCacheStats {
    return this.cacheManager.stats();
  }

  async shutdown(): Promise<void> {
    this.shutDown = true;
    for (const t of this.timers) clearInterval(t);
    const opening = [...this.ledgers.values()];
    await Promise.all(opening.map((p) => p.catch(() => undefined)));
    await Promise.all([...this.live].map((ml) => ml.close().catch(() => undefined)));
    this.ledgers.clear();
  }
}

export function createManagedLedgerFactory(opts: ManagedLedgerFactoryOptions): ManagedLedgerFactoryImpl {
  return new ManagedLedgerFactoryImpl(opts);
}
