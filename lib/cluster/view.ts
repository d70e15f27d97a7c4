/**
 * ClusterView: an in-memory mirror of the bundle state records, their owner keys and the broker
 * registrations, fed by list-then-watch (no gap: the watch starts at the first page's revision;
 * events at or below a cached version are ignored). Records and owner keys share one watch (their
 * keys share the string prefix `/<cluster>/bundle`), and events of one store version are applied
 * together before listeners run, so a claim never shows as "owned without owner key".
 * A watch that fails is re-established after a re-list; listeners get the differences.
 *
 * Bound: at most `maxBundles` bundle records are mirrored. Past it, new bundle keys are not cached
 * (`bundle()` answers 'uncached' and callers read the store); the overflow is counted and logged.
 */
import type { Logger } from '../log/index.ts';
import * as keys from '../metadata/keys.ts';
import type { Entry, MetadataStore, Version, Watch, WatchEvent } from '../metadata/store.ts';
import type { BrokerRegistration } from '../gen/magnetar/cluster/v1/cluster_pb.ts';
import { decodeBundleRecord, decodeOwnerKey, decodeRegistration } from './codec.ts';
import type { BundleRecord, OwnerKey } from './ownership-state.ts';
import { type BundleId, bundleName, type StoredBundle } from './ownership-store.ts';

export interface ViewOptions {
  readonly maxBundles: number;
  readonly maxBrokers: number;
  /** Delay before re-listing after a watch failure. */
  readonly resyncDelayMs: number;
  readonly log: Logger;
}

interface Cached<T> {
  readonly value: T;
  readonly version: Version;
}

interface BundleSlot {
  id: BundleId;
  record?: Cached<BundleRecord>;
  owner?: Cached<OwnerKey>;
}

export type BundleListener = (id: BundleId, before: StoredBundle, after: StoredBundle) => void;
export type BrokerListener = (
  brokerId: string,
  before?: BrokerRegistration,
  after?: BrokerRegistration,
) => void;

const EMPTY: StoredBundle = {
  record: undefined,
  recordVersion: undefined,
  ownerKey: undefined,
  ownerVersion: undefined,
};

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

export class ClusterView {
  readonly #store: MetadataStore;
  readonly #opts: ViewOptions;
  readonly #bundles = new Map<string, BundleSlot>();
  readonly #brokers = new Map<string, Cached<BrokerRegistration>>();
  readonly #bundleListeners = new Set<BundleListener>();
  readonly #brokerListeners = new Set<BrokerListener>();
  readonly #bundlePrefix: string;
  readonly #brokerPrefix: string;
  #watches: Watch[] = [];
  #pending: WatchEvent[] = [];
  #flushQueued = false;
  #closed = false;
  #synced = false;
  #resyncTimer: NodeJS.Timeout | undefined;
  /** Bundle keys seen but not cached because the view is full. */
  overflowed = 0;

  constructor(store: MetadataStore, cluster: string, opts: ViewOptions) {
    this.#store = store;
    this.#opts = opts;
    this.#bundlePrefix = commonPrefix(keys.allBundlesPrefix(cluster), keys.allBundleOwnersPrefix(cluster));
    this.#brokerPrefix = keys.brokersPrefix(cluster);
  }

  get synced(): boolean {
    return this.#synced;
  }

  get bundleCount(): number {
    return this.#bundles.size;
  }

  async start(): Promise<void> {
    await this.#sync();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#resyncTimer);
    await this.#closeWatches();
  }

  onBundleChange(l: BundleListener): () => void {
    this.#bundleListeners.add(l);
    return () => this.#bundleListeners.delete(l);
  }

  onBrokerChange(l: BrokerListener): () => void {
    this.#brokerListeners.add(l);
    return () => this.#brokerListeners.delete(l);
  }

  /** The cached state of a bundle; 'uncached' when the view is full and never saw it. */
  bundle(id: BundleId): StoredBundle | 'uncached' {
    const slot = this.#bundles.get(bundleName(id));
    if (!slot) return this.overflowed > 0 ? 'uncached' : EMPTY;
    return toStored(slot);
  }

  /** Every mirrored bundle with a record or owner key. */
  *bundles(): Iterable<[BundleId, StoredBundle]> {
    for (const slot of this.#bundles.values()) yield [slot.id, toStored(slot)];
  }

  broker(id: string): BrokerRegistration | undefined {
    return this.#brokers.get(id)?.value;
  }

  brokers(): BrokerRegistration[] {
    return [...this.#brokers.values()].map((c) => c.value);
  }

  isRegistered = (id: string): boolean => this.#brokers.has(id);

  /** Replace a cached bundle with a fresher read (after a CAS conflict); older data is ignored. */
  absorb(id: BundleId, fresh: StoredBundle): void {
    const name = bundleName(id);
    const slot = this.#bundles.get(name) ?? (this.#bundles.size < this.#opts.maxBundles ? { id } : undefined);
    if (!slot) return;
    const before = toStored(slot);
    if (fresh.recordVersion !== undefined && (slot.record?.version ?? 0) < fresh.recordVersion)
      slot.record = { value: fresh.record!, version: fresh.recordVersion };
    if (fresh.ownerVersion !== undefined && (slot.owner?.version ?? 0) < fresh.ownerVersion)
      slot.owner = { value: fresh.ownerKey!, version: fresh.ownerVersion };
    this.#bundles.set(name, slot);
    this.#emitBundle(slot.id, before, toStored(slot));
  }

  async #sync(): Promise<void> {
    await this.#closeWatches();
    const [bundleEntries, bundleRev] = await this.#listAll(this.#bundlePrefix);
    const [brokerEntries, brokerRev] = await this.#listAll(this.#brokerPrefix);
    const oldBundles = new Map([...this.#bundles].map(([k, s]) => [k, toStored(s)]));
    const oldBrokers = new Map([...this.#brokers].map(([k, c]) => [k, c.value]));
    this.#bundles.clear();
    this.#brokers.clear();
    this.overflowed = 0;
    for (const e of bundleEntries) this.#applyPut(e);
    for (const e of brokerEntries) this.#applyPut(e);
    // Listeners learn what changed while the view was not watching.
    for (const [name, slot] of this.#bundles)
      this.#emitBundle(slot.id, oldBundles.get(name) ?? EMPTY, toStored(slot));
    for (const [name, before] of oldBundles) {
      const id = idFromName(name);
      if (!this.#bundles.has(name) && id) this.#emitBundle(id, before, EMPTY);
    }
    for (const [id, c] of this.#brokers)
      if (oldBrokers.get(id) !== c.value) this.#emitBroker(id, oldBrokers.get(id), c.value);
    for (const [id, before] of oldBrokers)
      if (!this.#brokers.has(id)) this.#emitBroker(id, before, undefined);
    const handlers = {
      onEvent: (e: WatchEvent) => this.#queue(e),
      onError: (err: Error) => this.#watchFailed(err),
    };
    this.#watches = [
      await this.#store.watch(this.#bundlePrefix, handlers, { afterVersion: bundleRev }),
      await this.#store.watch(this.#brokerPrefix, handlers, { afterVersion: brokerRev }),
    ];
    this.#synced = true;
  }

  async #listAll(prefix: string): Promise<[Entry[], Version]> {
    const out: Entry[] = [];
    let startAfter: string | undefined;
    let revision: Version | undefined;
    for (;;) {
      const page = await this.#store.list(prefix, { startAfter });
      revision ??= page.revision;
      out.push(...page.entries);
      if (!page.more || page.entries.length === 0) return [out, revision];
      startAfter = page.entries[page.entries.length - 1].key;
    }
  }

  #watchFailed(err: Error): void {
    if (this.#closed || !this.#synced) return;
    this.#synced = false;
    this.#opts.log.warn({ err: err.message }, 'cluster view watch failed; re-listing');
    const retry = () => {
      if (this.#closed) return;
      this.#sync().catch((e: unknown) => {
        this.#opts.log.warn({ err: (e as Error).message }, 'cluster view re-list failed; will retry');
        this.#resyncTimer = setTimeout(retry, this.#opts.resyncDelayMs);
      });
    };
    this.#resyncTimer = setTimeout(retry, this.#opts.resyncDelayMs);
  }

  async #closeWatches(): Promise<void> {
    const ws = this.#watches;
    this.#watches = [];
    await Promise.all(ws.map((w) => w.close().catch(() => undefined)));
  }

  #queue(e: WatchEvent): void {
    this.#pending.push(e);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => this.#flush());
  }

  /** Apply every queued event, then tell listeners once per bundle/broker touched. */
  #flush(): void {
    this.#flushQueued = false;
    const events = this.#pending;
    this.#pending = [];
    const touchedBundles = new Map<string, StoredBundle>();
    const touchedBrokers = new Map<string, BrokerRegistration | undefined>();
    for (const e of events) {
      const key = e.type === 'put' ? e.entry.key : e.key;
      const b = this.#bundleNameOfKey(key);
      if (b && !touchedBundles.has(b)) {
        const slot = this.#bundles.get(b);
        touchedBundles.set(b, slot ? toStored(slot) : EMPTY);
      }
      const broker = keys.parseBrokerKey(key);
      if (broker && !touchedBrokers.has(broker.brokerId))
        touchedBrokers.set(broker.brokerId, this.#brokers.get(broker.brokerId)?.value);
      try {
        if (e.type === 'put') this.#applyPut(e.entry);
        else this.#applyDelete(e.key, e.version);
      } catch (err) {
        this.#opts.log.error({ err: (err as Error).message, key }, 'undecodable cluster record ignored');
      }
    }
    for (const [name, before] of touchedBundles) {
      const slot = this.#bundles.get(name);
      const id = slot?.id ?? idFromName(name);
      if (id) this.#emitBundle(id, before, slot ? toStored(slot) : EMPTY);
    }
    for (const [id, before] of touchedBrokers) {
      const after = this.#brokers.get(id)?.value;
      if (before !== after) this.#emitBroker(id, before, after);
    }
  }

  #bundleNameOfKey(key: string): string | undefined {
    const r = keys.parseBundleKey(key) ?? keys.parseBundleOwnerKey(key);
    return r && `${r.tenant}/${r.namespace}/${r.range}`;
  }

  #applyPut(e: Entry): void {
    const broker = keys.parseBrokerKey(e.key);
    if (broker) {
      const cur = this.#brokers.get(broker.brokerId);
      if (cur && cur.version >= e.version) return;
      if (!cur && this.#brokers.size >= this.#opts.maxBrokers) {
        this.#opts.log.error(
          { broker: broker.brokerId, max: this.#opts.maxBrokers },
          'too many brokers; ignoring',
        );
        return;
      }
      this.#brokers.set(broker.brokerId, { value: decodeRegistration(e.key, e.value), version: e.version });
      return;
    }
    const rec = keys.parseBundleKey(e.key);
    const own = rec ? undefined : keys.parseBundleOwnerKey(e.key);
    const parsed = rec ?? own;
    if (!parsed) return;
    const name = `${parsed.tenant}/${parsed.namespace}/${parsed.range}`;
    let slot = this.#bundles.get(name);
    if (!slot) {
      if (this.#bundles.size >= this.#opts.maxBundles) {
        if (this.overflowed++ === 0)
          this.#opts.log.error(
            { max: this.#opts.maxBundles },
            'cluster view full; reading uncached bundles from the store',
          );
        return;
      }
      slot = { id: idFromName(name)! };
      this.#bundles.set(name, slot);
    }
    if (rec) {
      if ((slot.record?.version ?? 0) >= e.version) return;
      slot.record = { value: decodeBundleRecord(e.key, e.value), version: e.version };
    } else {
      if ((slot.owner?.version ?? 0) >= e.version) return;
      slot.owner = { value: decodeOwnerKey(e.key, e.value), version: e.version };
    }
  }

  #applyDelete(key: string, version: Version): void {
    const broker = keys.parseBrokerKey(key);
    if (broker) {
      const cur = this.#brokers.get(broker.brokerId);
      if (cur && cur.version < version) this.#brokers.delete(broker.brokerId);
      return;
    }
    const name = this.#bundleNameOfKey(key);
    const slot = name && this.#bundles.get(name);
    if (!slot) return;
    if (keys.parseBundleKey(key)) {
      if (slot.record && slot.record.version < version) slot.record = undefined;
    } else if (slot.owner && slot.owner.version < version) slot.owner = undefined;
    if (!slot.record && !slot.owner) this.#bundles.delete(name!);
  }

  #emitBundle(id: BundleId, before: StoredBundle, after: StoredBundle): void {
    if (before.recordVersion === after.recordVersion && before.ownerVersion === after.ownerVersion) return;
    for (const l of this.#bundleListeners) {
      try {
        l(id, before, after);
      } catch (err) {
        this.#opts.log.error({ err: (err as Error).message }, 'bundle listener failed');
      }
    }
  }

  #emitBroker(id: string, before?: BrokerRegistration, after?: BrokerRegistration): void {
    for (const l of this.#brokerListeners) {
      try {
        l(id, before, after);
      } catch (err) {
        this.#opts.log.error({ err: (err as Error).message }, 'broker listener failed');
      }
    }
  }
}

function toStored(slot: BundleSlot): StoredBundle {
  return {
    record: slot.record?.value,
    recordVersion: slot.record?.version,
    ownerKey: slot.owner?.value,
    ownerVersion: slot.owner?.version,
  };
}

/** `tenant/ns/0x.._0x..` back to an id. */
export function idFromName(name: string): BundleId | undefined {
  const parts = name.split('/');
  if (parts.length !== 3) return undefined;
  const r = keys.parseBundleRange(parts[2]);
  return r ? { tenant: parts[0], namespace: parts[1], range: r } : undefined;
}
