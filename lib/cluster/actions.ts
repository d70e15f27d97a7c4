/**
 * Bundle transitions as the brokers and the coordinator issue them: plan from the cluster view
 * (or a fresh read when the view cannot answer), apply with the ownership driver, and on a lost
 * race fold the fresh state back into the view so the next attempt starts from the truth.
 */
import type { Logger } from '../log/index.ts';
import type { Session } from '../metadata/store.ts';
import type { Transition } from './ownership-state.ts';
import {
  type ApplyOptions,
  type ApplyResult,
  type BundleId,
  bundleName,
  type OwnershipStore,
  type StoredBundle,
} from './ownership-store.ts';
import type { ClusterView } from './view.ts';

export class BundleActions {
  readonly os: OwnershipStore;
  readonly view: ClusterView;
  /** Who signs the transitions (broker id or coordinator id). */
  readonly actor: string;
  readonly #log: Logger;
  readonly #now: () => number;

  constructor(
    os: OwnershipStore,
    view: ClusterView,
    actor: string,
    log: Logger,
    now: () => number = Date.now,
  ) {
    this.os = os;
    this.view = view;
    this.actor = actor;
    this.#log = log;
    this.#now = now;
  }

  /** The bundle's state from the view, or from the store when the view does not mirror it. */
  async current(id: BundleId): Promise<StoredBundle> {
    const cached = this.view.bundle(id);
    return cached === 'uncached' ? this.os.read(id) : cached;
  }

  /** Read the store and fold the result into the view. */
  async fresh(id: BundleId): Promise<StoredBundle> {
    const s = await this.os.read(id);
    this.view.absorb(id, s);
    return s;
  }

  async run(
    id: BundleId,
    taken: StoredBundle,
    t: Transition,
    opts: ApplyOptions & { session?: Session } = {},
  ): Promise<ApplyResult> {
    const res = await this.os.transition(id, taken, t, {
      ...opts,
      registered: this.view.isRegistered,
      nowMs: this.#now(),
    });
    if (res.ok) {
      this.#log.debug(
        { bundle: bundleName(id), transition: t.kind, state: res.record?.state },
        'bundle transition',
      );
    } else if (res.conflict) {
      await this.fresh(id).catch(() => undefined);
    }
    return res;
  }

  assign(
    id: BundleId,
    taken: StoredBundle,
    destination: string,
    reason: string,
    boundariesVersion?: number,
  ): Promise<ApplyResult> {
    return this.run(
      id,
      taken,
      { kind: 'assign', destination, by: this.actor, reason },
      { boundariesVersion },
    );
  }

  free(id: BundleId, taken: StoredBundle, reason: string): Promise<ApplyResult> {
    return this.run(id, taken, { kind: 'free', by: this.actor, reason });
  }

  claim(id: BundleId, taken: StoredBundle, session: Session): Promise<ApplyResult> {
    return this.run(id, taken, { kind: 'claim', broker: this.actor, sessionId: session.id }, { session });
  }

  release(
    id: BundleId,
    taken: StoredBundle,
    destination: string,
    reason: string,
    move: boolean,
  ): Promise<ApplyResult> {
    return this.run(id, taken, { kind: 'release', by: this.actor, destination, reason, move });
  }

  finishRelease(id: BundleId, taken: StoredBundle): Promise<ApplyResult> {
    return this.run(id, taken, { kind: 'finish-release', broker: this.actor });
  }

  split(id: BundleId, taken: StoredBundle, points: readonly number[]): Promise<ApplyResult> {
    return this.run(id, taken, { kind: 'split', by: this.actor, points });
  }

  /** Finish a split: children records and the new boundaries in one transaction. */
  async finishSplit(id: BundleId): Promise<ApplyResult> {
    const taken = await this.os.read(id);
    const boundaries = await this.os.readBoundaries(id.tenant, id.namespace);
    if (!boundaries) return { ok: false, conflict: false, why: 'namespace has no bundle boundaries' };
    return this.run(id, taken, { kind: 'finish-split', by: this.actor }, { boundaries });
  }
}
