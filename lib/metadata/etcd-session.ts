/**
 * A session on etcd = a lease kept alive over a LeaseKeepAlive stream.
 *
 * When is it lost? etcd expires a lease TTL after the last keep-alive it *received*. We record when
 * each keep-alive was *sent*; a confirmed one proves the lease lives at least until sentAt + TTL.
 * So once no keep-alive sent in the last TTL has been confirmed, we can no longer vouch for the
 * lease and declare the session lost — never later than etcd itself could expire it. A keep-alive
 * answered with TTL 0 (expired or revoked, e.g. by revokeSession) also loses it. A lost session is
 * revoked in the background (a paused etcd could otherwise still honour queued keep-alives) and
 * is dead for good; `onLost` listeners run exactly once.
 */
import type { IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse, LeaseClient } from 'etcd3';
import type { Logger } from '../log/index.ts';
import { closeStream, type EtcdCaller } from './etcd-call.ts';
import { MetadataErrors } from './errors.ts';
import type { MetadataLimits } from './limits.ts';
import type { Session } from './store.ts';

/** Keep-alives sent but not yet answered, at most this many (then we wait for answers). */
const MAX_UNANSWERED_KEEPALIVES = 16;

export interface EtcdSessionDeps {
  readonly leases: LeaseClient;
  readonly caller: EtcdCaller;
  readonly limits: MetadataLimits;
  readonly logger: Logger;
  /** Called once when the session ends for any reason (store bookkeeping). */
  readonly onEnded: (session: EtcdSession) => void;
}

type State = 'alive' | 'lost' | 'closed';

export class EtcdSession implements Session {
  readonly id: string;
  readonly ttlMs: number;
  readonly #deps: EtcdSessionDeps;
  #state: State = 'alive';
  #lostReason: Error | undefined;
  readonly #listeners: ((reason: Error) => void)[] = [];
  /** performance.now() at which the newest confirmed keep-alive (or the grant) was sent. */
  #confirmedSentAt: number;
  #unanswered: number[] = [];
  #stream: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse> | undefined;
  #opening = false;
  #keepAliveTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(deps: EtcdSessionDeps, id: string, ttlMs: number, grantSentAt: number) {
    this.#deps = deps;
    this.id = id;
    this.ttlMs = ttlMs;
    this.#confirmedSentAt = grantSentAt;
    const intervalMs = Math.max(50, Math.floor(ttlMs / deps.limits.sessionKeepAlivesPerTtl));
    this.#keepAliveTimer = setInterval(() => this.#sendKeepAlive(), intervalMs);
    this.#armWatchdog();
    this.#sendKeepAlive();
  }

  get alive(): boolean {
    return this.#state === 'alive';
  }

  /** Why the session is no longer usable, as the error callers should see (undefined if alive). */
  get deadError(): Error | undefined {
    if (this.#state === 'closed') return MetadataErrors.make('SESSION_CLOSED', { sessionId: this.id });
    if (this.#state === 'lost') {
      return MetadataErrors.make('SESSION_LOST', { sessionId: this.id, reason: this.#lostReason?.message });
    }
    return undefined;
  }

  onLost(listener: (reason: Error) => void): void {
    if (this.#state === 'lost') {
      const reason = this.deadError!;
      queueMicrotask(() => this.#notify(listener, reason));
      return;
    }
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.#state !== 'alive') return;
    this.#state = 'closed';
    this.#stop();
    this.#deps.onEnded(this);
    await this.#revoke();
  }

  /** The store learned that etcd no longer knows the lease (e.g. a put was refused). */
  markLost(reason: string): void {
    if (this.#state !== 'alive') return;
    this.#state = 'lost';
    this.#lostReason = new Error(reason);
    this.#stop();
    this.#deps.onEnded(this);
    this.#deps.logger.warn({ sessionId: this.id, reason }, 'metadata session lost');
    const err = this.deadError!;
    for (const listener of this.#listeners.splice(0)) this.#notify(listener, err);
    // Best effort: make sure the lease (and its keys) is really gone even if etcd was only paused.
    this.#revoke().catch(() => undefined);
  }

  /** Stop without revoking (store close when the lease must simply expire). */
  abandon(): void {
    if (this.#state !== 'alive') return;
    this.#state = 'closed';
    this.#stop();
  }

  #notify(listener: (reason: Error) => void, err: Error): void {
    try {
      listener(err);
    } catch (e) {
      this.#deps.logger.error({ err: e, sessionId: this.id }, 'session onLost listener threw');
    }
  }

  async #revoke(): Promise<void> {
    await this.#deps.caller.run('revokeSession', 'read', async (deadline) => {
      try {
        await this.#deps.leases.leaseRevoke({ ID: this.id }, { deadline });
      } catch (err) {
        if (/requested lease not found/i.test(String((err as Error)?.message))) return;
        throw err;
      }
    });
  }

  #stop(): void {
    clearInterval(this.#keepAliveTimer);
    clearTimeout(this.#watchdog);
    this.#dropStream();
  }

  #armWatchdog(): void {
    clearTimeout(this.#watchdog);
    if (this.#state !== 'alive') return;
    const dueIn = this.#confirmedSentAt + this.ttlMs - performance.now();
    this.#watchdog = setTimeout(
      () => {
        if (performance.now() - this.#confirmedSentAt >= this.ttlMs) {
          this.markLost(`no keep-alive confirmed within the ${this.ttlMs} ms TTL`);
        } else {
          this.#armWatchdog();
        }
      },
      Math.max(0, dueIn),
    );
  }

  #sendKeepAlive(): void {
    if (this.#state !== 'alive') return;
    if (!this.#stream) {
      this.#openStream();
      return;
    }
    if (this.#unanswered.length >= MAX_UNANSWERED_KEEPALIVES) return;
    this.#unanswered.push(performance.now());
    try {
      this.#stream.write({ ID: this.id });
    } catch (err) {
      this.#deps.logger.debug({ err, sessionId: this.id }, 'keep-alive write failed');
      this.#dropStream();
    }
  }

  #openStream(): void {
    if (this.#opening) return;
    this.#opening = true;
    this.#deps.leases
      .leaseKeepAlive()
      .then((stream) => {
        this.#opening = false;
        if (this.#state !== 'alive') {
          closeStream(stream);
          return;
        }
        this.#stream = stream;
        stream.on('data', (res) => this.#onResponse(stream, res));
        stream.on('error', (err) => this.#onStreamEnd(stream, err));
        stream.on('end', () => this.#onStreamEnd(stream, undefined));
        this.#sendKeepAlive();
      })
      .catch((err) => {
        this.#opening = false;
        this.#deps.logger.debug({ err, sessionId: this.id }, 'keep-alive stream not opened');
      });
  }

  #onResponse(stream: unknown, res: ILeaseKeepAliveResponse): void {
    if (stream !== this.#stream || this.#state !== 'alive') return;
    const sentAt = this.#unanswered.shift();
    if (String(res.TTL) === '0') {
      this.markLost('the lease expired or was revoked');
      return;
    }
    if (sentAt !== undefined && sentAt > this.#confirmedSentAt) {
      this.#confirmedSentAt = sentAt;
      this.#armWatchdog();
    }
  }

  #onStreamEnd(stream: unknown, err: Error | undefined): void {
    if (stream !== this.#stream) return;
    if (this.#state === 'alive') {
      this.#deps.logger.debug({ err, sessionId: this.id }, 'keep-alive stream ended; reopening');
    }
    this.#stream = undefined;
    this.#unanswered = [];
  }

  #dropStream(): void {
    const stream = this.#stream;
    this.#stream = undefined;
    this.#unanswered = [];
    if (stream) closeStream(stream);
  }
}
