/**
 * Coordinator leadership: one session (etcd lease) per replica and a campaign in the
 * `coordinator` election (lib/metadata/election.ts). The leader runs the duties; standbys wait and
 * take over within the leader's session TTL after it dies. A lost session or candidacy deposes the
 * leader at once; the replica then campaigns again with a new session.
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  type CoordinatorCandidate,
  CoordinatorCandidateSchema,
} from '../../lib/gen/magnetar/cluster/v1/cluster_pb.ts';
import type { Logger } from '../../lib/log/index.ts';
import { Election } from '../../lib/metadata/election.ts';
import * as keys from '../../lib/metadata/keys.ts';
import type { MetadataStore, Session, Watch } from '../../lib/metadata/store.ts';

export interface LeadershipOptions {
  readonly store: MetadataStore;
  readonly cluster: string;
  readonly candidate: CoordinatorCandidate;
  readonly sessionTtlMs: number;
  readonly retryDelayMs: number;
  readonly log: Logger;
  readonly onElected: () => void;
  readonly onDeposed: (reason: string) => void;
}

export class Leadership {
  readonly #o: LeadershipOptions;
  readonly #prefix: string;
  #session: Session | undefined;
  #election: Election | undefined;
  #leader = false;
  #closed = false;
  #observer: Watch | undefined;
  #current: CoordinatorCandidate | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(o: LeadershipOptions) {
    this.#o = o;
    this.#prefix = keys.electionPrefix(o.cluster, keys.ELECTIONS.coordinator);
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** The leader as last observed (any replica's view). */
  get currentLeader(): CoordinatorCandidate | undefined {
    return this.#current;
  }

  get session(): Session | undefined {
    return this.#session;
  }

  async start(): Promise<void> {
    this.#observer = await Election.observe(
      this.#o.store,
      this.#prefix,
      (leader) => {
        this.#current = leader ? decodeCandidate(leader.value) : undefined;
      },
      (err) => this.#o.log.warn({ err: err.message }, 'leader observer failed'),
    );
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      try {
        if (!this.#session?.alive) this.#session = await this.#o.store.createSession(this.#o.sessionTtlMs);
        const election = new Election({
          store: this.#o.store,
          prefix: this.#prefix,
          session: this.#session,
          value: toBinary(CoordinatorCandidateSchema, this.#o.candidate),
        });
        this.#election = election;
        const deposed = new Promise<string>((resolve) => {
          election.onLeadershipLost((err) => resolve(err.message));
          this.#wake = () => resolve('closing');
        });
        this.#o.log.info({ session: this.#session.id }, 'campaigning for coordinator leadership');
        await election.campaign();
        if (this.#closed) break;
        this.#leader = true;
        this.#o.log.info({ session: this.#session.id }, 'elected coordinator leader');
        this.#o.onElected();
        const reason = await deposed;
        this.#leader = false;
        this.#o.log.warn({ reason }, 'no longer the coordinator leader');
        this.#o.onDeposed(reason);
      } catch (err) {
        this.#leader = false;
        if (this.#closed) break;
        this.#o.log.warn({ err: (err as Error).message }, 'campaign ended; retrying');
        await new Promise((r) => setTimeout(r, this.#o.retryDelayMs));
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#election?.resign().catch(() => undefined);
    this.#wake?.();
    await this.#session?.close().catch(() => undefined);
    await this.#observer?.close().catch(() => undefined);
    await this.#loop?.catch(() => undefined);
  }
}

function decodeCandidate(bytes: Uint8Array): CoordinatorCandidate | undefined {
  try {
    return fromBinary(CoordinatorCandidateSchema, bytes);
  } catch {
    return undefined;
  }
}
