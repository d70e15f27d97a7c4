/**
 * A session of the embedded store. The owning process is the only client, so there is no
 * keep-alive to miss: the session lives until its owner closes it, someone revokes it, the store
 * fails, or the process ends (then the next open ends it). `onLost` fires exactly once on a loss.
 */
import type { Logger } from '../log/index.ts';
import { MetadataErrors } from './errors.ts';
import type { Session } from './store.ts';

export interface EmbeddedSessionDeps {
  /** Durably end the session (deletes its keys). */
  readonly end: (id: string) => Promise<void>;
  readonly onEnded: (id: string) => void;
  readonly logger: Logger;
}

export class EmbeddedSession implements Session {
  readonly id: string;
  readonly ttlMs: number;
  readonly #deps: EmbeddedSessionDeps;
  #state: 'alive' | 'lost' | 'closed' = 'alive';
  #lostReason = '';
  readonly #listeners: ((reason: Error) => void)[] = [];

  constructor(id: string, ttlMs: number, deps: EmbeddedSessionDeps) {
    this.id = id;
    this.ttlMs = ttlMs;
    this.#deps = deps;
  }

  get alive(): boolean {
    return this.#state === 'alive';
  }

  get deadError(): Error | undefined {
    if (this.#state === 'closed') return MetadataErrors.make('SESSION_CLOSED', { sessionId: this.id });
    if (this.#state === 'lost')
      return MetadataErrors.make('SESSION_LOST', { sessionId: this.id, reason: this.#lostReason });
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
    this.#deps.onEnded(this.id);
    await this.#deps.end(this.id);
  }

  markLost(reason: string): void {
    if (this.#state !== 'alive') return;
    this.#state = 'lost';
    this.#lostReason = reason;
    this.#deps.onEnded(this.id);
    this.#deps.logger.warn({ sessionId: this.id, reason }, 'metadata session lost');
    const err = this.deadError!;
    for (const listener of this.#listeners.splice(0)) this.#notify(listener, err);
  }

  #notify(listener: (reason: Error) => void, err: Error): void {
    try {
      listener(err);
    } catch (e) {
      this.#deps.logger.error({ err: e, sessionId: this.id }, 'session onLost listener threw');
    }
  }
}
