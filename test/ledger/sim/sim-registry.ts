/**
 * The bookie registry as the simulation's clients see it: a bookie is registered while its
 * session lives (a crash deregisters it after the session TTL), and listed writable unless it is
 * in read-only mode.
 */
import type { BookieInfo, BookieRegistry } from '../../../lib/ledger/driver/registry.ts';
import type { Scheduler } from './scheduler.ts';
import type { SimBookie } from './sim-bookie.ts';

export class SimRegistry implements BookieRegistry {
  readonly #registered = new Map<string, SimBookie>();
  readonly #labels: Map<string, Record<string, string>>;

  constructor(bookies: readonly SimBookie[], labels: Map<string, Record<string, string>>) {
    for (const b of bookies) this.#registered.set(b.id, b);
    this.#labels = labels;
  }

  register(b: SimBookie): void {
    this.#registered.set(b.id, b);
  }

  /** The bookie's session expires `ttlMs` after its crash (unless it came back meanwhile). */
  expireAfterCrash(b: SimBookie, sched: Scheduler, ttlMs: number): void {
    const life = b.incarnation;
    sched.schedule(ttlMs, () => {
      if (b.incarnation === life && !b.alive) this.#registered.delete(b.id);
    });
  }

  #info(b: SimBookie): BookieInfo {
    return { id: b.id, grpcAddress: b.id, readOnly: b.readOnly, labels: this.#labels.get(b.id) ?? {} };
  }

  writable(): readonly BookieInfo[] {
    return [...this.#registered.values()].filter((b) => !b.readOnly).map((b) => this.#info(b));
  }

  get(bookieId: string): BookieInfo | undefined {
    const b = this.#registered.get(bookieId);
    return b ? this.#info(b) : undefined;
  }

  async close(): Promise<void> {}
}
