/**
 * Small bookkeeping of the ownership service: lookups waiting for a bundle to change, assignments
 * made here that the view has not shown yet, and the metrics. Bounded: waiters time out, pending
 * assignments are dropped when the view shows the bundle change or after a minute.
 */
import type { Counter, Gauge, Histogram, Metrics } from '../metrics/index.ts';

const PENDING_MAX_AGE_MS = 60_000;
const PENDING_MAX = 100_000;

export class OwnershipSignals {
  readonly #waiters = new Map<string, Set<(changed: boolean) => void>>();
  readonly #pending = new Map<string, { broker: string; atMs: number }>();
  readonly #lookups?: Counter<string>;
  readonly #lookupSeconds?: Histogram<string>;
  readonly #ownedGauge?: Gauge<string>;
  readonly #ownership?: Counter<string>;

  constructor(metrics?: Metrics) {
    if (!metrics) return;
    this.#lookups = metrics.counter('magnetar_cluster_lookups_total', 'Topic lookups answered, by result', [
      'result',
    ]);
    this.#lookupSeconds = metrics.histogram('magnetar_cluster_lookup_seconds', 'Time to resolve a lookup');
    this.#ownedGauge = metrics.gauge('magnetar_cluster_owned_bundles', 'Bundles this broker owns');
    this.#ownership = metrics.counter(
      'magnetar_cluster_ownership_changes_total',
      'Bundles gained or given up, by kind',
      ['kind'],
    );
  }

  lookup(result: 'connect' | 'redirect' | 'failed' | 'throttled'): void {
    this.#lookups?.inc({ result });
  }

  lookupTimer(): () => void {
    return this.#lookupSeconds?.startTimer() ?? (() => undefined);
  }

  owned(count: number, kind: 'claimed' | 'released' | 'lost' | 'split'): void {
    this.#ownedGauge?.set(count);
    this.#ownership?.inc({ kind });
  }

  /** A bundle changed in the view: wake its waiters, forget its pending assignment. */
  changed(name: string): void {
    this.#pending.delete(name);
    const ws = this.#waiters.get(name);
    if (!ws) return;
    this.#waiters.delete(name);
    for (const w of ws) w(true);
  }

  waitForChange(name: string, timeoutMs: number): Promise<boolean> {
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      let set = this.#waiters.get(name);
      if (!set) this.#waiters.set(name, (set = new Set()));
      const done = (changed: boolean) => {
        clearTimeout(timer);
        set!.delete(done);
        if (set!.size === 0 && this.#waiters.get(name) === set) this.#waiters.delete(name);
        resolve(changed);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      set.add(done);
    });
  }

  notePending(name: string, broker: string): void {
    if (this.#pending.size >= PENDING_MAX) this.#pending.delete(this.#pending.keys().next().value!);
    this.#pending.set(name, { broker, atMs: Date.now() });
  }

  pendingByBroker(): Map<string, number> {
    const now = Date.now();
    const out = new Map<string, number>();
    for (const [name, p] of this.#pending) {
      if (now - p.atMs > PENDING_MAX_AGE_MS) this.#pending.delete(name);
      else out.set(p.broker, (out.get(p.broker) ?? 0) + 1);
    }
    return out;
  }

  close(): void {
    for (const ws of this.#waiters.values()) for (const w of ws) w(false);
    this.#waiters.clear();
  }
}
