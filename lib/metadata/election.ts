/**
 * Leader election on any MetadataStore, from sessions and create order.
 *
 * A candidate writes `<prefix><sessionId>` bound to its session. The leader is the live candidate
 * key with the lowest createVersion. Why at most one candidate believes it leads while sessions
 * live: a candidate leads only while its key is first; a later candidate's key can become first
 * only when every earlier key is gone, which happens only when that session ends (close, revoke,
 * loss) or the key is deleted. A session's owner learns of the loss no later than the store
 * expires it (etcd-session.ts), and every candidate watches the prefix, so the old leader steps
 * down (onLeadershipLost) before or when its key disappears. Leadership is still only a hint for
 * safety-critical writes: guard those with CAS/fencing (internals.md §0, fact 1).
 *
 * A standby takes over within the leader's session TTL after the leader dies.
 */
import { MetadataErrors } from './errors.ts';
import type { Entry, MetadataStore, Session, Watch, WatchEvent } from './store.ts';

export interface ElectionOptions {
  readonly store: MetadataStore;
  /** keys.electionPrefix(cluster, name); ends with '/'. */
  readonly prefix: string;
  readonly session: Session;
  /** Published with the candidacy (e.g. the candidate's address); see `proclaim`. */
  readonly value: Uint8Array;
}

export interface LeaderInfo {
  readonly key: string;
  readonly value: Uint8Array;
  readonly sessionId: string | undefined;
  readonly createVersion: number;
  readonly version: number;
}

const toLeader = (e: Entry): LeaderInfo => ({
  key: e.key,
  value: e.value,
  sessionId: e.sessionId,
  createVersion: e.createVersion,
  version: e.version,
});

/** Candidates under a prefix, kept current by a watch started at the listing's revision. */
class CandidateView {
  readonly #candidates = new Map<string, Entry>();
  #watch: Watch | undefined;

  static async open(
    store: MetadataStore,
    prefix: string,
    onChange: () => void,
    onError: (err: Error) => void,
  ): Promise<CandidateView> {
    const view = new CandidateView();
    // One page, so the listing is one snapshot and the watch continues exactly after it.
    const page = await store.list(prefix);
    if (page.more) {
      throw MetadataErrors.make('INVALID_ARGUMENT', {
        what: `election ${prefix}`,
        why: 'more candidates than one list page (maxPageSize) holds',
      });
    }
    const entries = page.entries;
    for (const e of entries) view.#candidates.set(e.key, e);
    view.#watch = await store.watch(
      prefix,
      {
        onEvent: (ev: WatchEvent) => {
          if (ev.type === 'put') view.#candidates.set(ev.entry.key, ev.entry);
          else view.#candidates.delete(ev.key);
          onChange();
        },
        onError,
      },
      { afterVersion: page.revision },
    );
    return view;
  }

  leader(): Entry | undefined {
    let first: Entry | undefined;
    for (const e of this.#candidates.values()) {
      if (!first || e.createVersion < first.createVersion) first = e;
    }
    return first;
  }

  has(key: string): boolean {
    return this.#candidates.has(key);
  }

  async close(): Promise<void> {
    await this.#watch?.close();
  }
}

type Phase = 'idle' | 'campaigning' | 'leader' | 'ended';

export class Election {
  readonly #opts: ElectionOptions;
  readonly key: string;
  #phase: Phase = 'idle';
  #view: CandidateView | undefined;
  #version = 0;
  #settle: ((err?: Error) => void) | undefined;
  readonly #lostListeners: ((reason: Error) => void)[] = [];

  constructor(opts: ElectionOptions) {
    if (!opts.prefix.endsWith('/')) {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'election prefix', why: 'must end with "/"' });
    }
    this.#opts = opts;
    this.key = `${opts.prefix}${opts.session.id}`;
  }

  get isLeader(): boolean {
    return this.#phase === 'leader';
  }

  /** Called each time this candidate stops leading for a reason other than resign(). */
  onLeadershipLost(listener: (reason: Error) => void): void {
    this.#lostListeners.push(listener);
  }

  /**
   * Stand for election; resolves once leader. Rejects with CAMPAIGN_ABORTED if the session is lost,
   * the candidacy key is deleted, the watch fails, or resign() is called first. One campaign per
   * Election object.
   */
  async campaign(): Promise<void> {
    const { store, session, prefix, value } = this.#opts;
    if (this.#phase !== 'idle') {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'campaign', why: `already ${this.#phase}` });
    }
    if (!session.alive) throw this.#aborted('the session is not alive');
    this.#phase = 'campaigning';
    const won = new Promise<void>((resolve, reject) => {
      this.#settle = (err) => (err ? reject(err) : resolve());
    });
    // The campaign can end (session lost) while the candidacy put below is still in flight, before
    // anyone awaits `won`: mark the rejection handled here; the caller still receives it.
    won.catch(() => undefined);
    session.onLost((reason) => this.#end(`session lost: ${reason.message}`));
    try {
      this.#version = await store.put(this.key, value, { expectedVersion: 'absent', session });
      this.#view = await CandidateView.open(
        store,
        prefix,
        () => this.#evaluate(),
        (err) => this.#end(`watch failed: ${err.message}`),
      );
      // Ended (session lost, resigned) while the view opened: #end could not close it then.
      if ((this.#phase as Phase) === 'ended') await this.#view.close();
    } catch (err) {
      this.#end(`could not stand: ${(err as Error).message}`);
      throw err;
    }
    this.#evaluate();
    return won;
  }

  /** Replace the published value (leader or candidate). CAS on our own key. */
  async proclaim(value: Uint8Array): Promise<void> {
    if (this.#phase !== 'leader' && this.#phase !== 'campaigning') {
      throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'proclaim', why: `election is ${this.#phase}` });
    }
    this.#version = await this.#opts.store.put(this.key, value, {
      expectedVersion: this.#version,
      session: this.#opts.session,
    });
  }

  /** Stop leading or campaigning and withdraw the candidacy. The session stays open. */
  async resign(): Promise<void> {
    if (this.#phase === 'ended' || this.#phase === 'idle') {
      this.#phase = 'ended';
      return;
    }
    this.#phase = 'ended';
    this.#settle?.(this.#aborted('resigned'));
    this.#settle = undefined;
    await this.#view?.close();
    // Propagate a failure: the candidacy then lingers until the session ends, and the caller should know.
    if (this.#opts.session.alive) await this.#opts.store.delete(this.key);
  }

  /** The current leader of an election, or undefined when there is no candidate. */
  static async leader(store: MetadataStore, prefix: string): Promise<LeaderInfo | undefined> {
    const candidates = await store.listAll(prefix);
    const first = candidates.reduce<Entry | undefined>(
      (a, e) => (!a || e.createVersion < a.createVersion ? e : a),
      undefined,
    );
    return first && toLeader(first);
  }

  /**
   * Follow the leader of an election: `onChange` gets the current leader now and after each change
   * (undefined while there is none). Returns the watch; close it to stop.
   */
  static async observe(
    store: MetadataStore,
    prefix: string,
    onChange: (leader: LeaderInfo | undefined) => void,
    onError?: (err: Error) => void,
  ): Promise<Watch> {
    let last: string | undefined = '\0initial';
    let view: CandidateView | undefined;
    const report = () => {
      // Events can arrive in the same tick as the watch's creation, before `view` is assigned: the
      // report right after the assignment covers them (reporting now would claim "no leader").
      if (!view) return;
      const leader = view.leader();
      const id = leader ? `${leader.key}@${leader.version}` : undefined;
      if (id === last) return;
      last = id;
      onChange(leader && toLeader(leader));
    };
    view = await CandidateView.open(store, prefix, report, (err) => onError?.(err));
    report();
    return view;
  }

  #evaluate(): void {
    const view = this.#view;
    if (!view || (this.#phase !== 'campaigning' && this.#phase !== 'leader')) return;
    if (!view.has(this.key)) {
      this.#end('the candidacy key was deleted');
      return;
    }
    if (this.#phase === 'campaigning' && view.leader()?.key === this.key) {
      this.#phase = 'leader';
      this.#settle?.();
      this.#settle = undefined;
    }
  }

  #end(reason: string): void {
    if (this.#phase === 'ended' || this.#phase === 'idle') return;
    const wasLeader = this.#phase === 'leader';
    this.#phase = 'ended';
    const err = this.#aborted(reason);
    this.#settle?.(err);
    this.#settle = undefined;
    void this.#view?.close();
    if (this.#opts.session.alive) void this.#opts.store.delete(this.key).catch(ignoreGone);
    if (wasLeader) {
      for (const listener of this.#lostListeners) {
        try {
          listener(err);
        } catch {
          /* a listener's bug must not stop the others */
        }
      }
    }
  }

  #aborted(reason: string): Error {
    return MetadataErrors.make('CAMPAIGN_ABORTED', { election: this.#opts.prefix, reason });
  }
}

const ignoreGone = () => undefined;
