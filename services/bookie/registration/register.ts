/**
 * Registration (internals.md §2.5): the key `bookies/{writable,readonly}/<bookieId>` bound to a
 * kept-alive session (etcd lease). A key left by a previous incarnation (another session) is
 * waited out, never overwritten. A read-only switch moves the key in one transaction. A lost
 * session is replaced and the key written again, with backoff, until the bookie closes.
 */
import { toBinary } from '@bufbuild/protobuf';
import {
  type BookieRegistration,
  BookieRegistrationSchema,
} from '../../../lib/gen/magnetar/meta/v1/meta_pb.ts';
import type { Logger } from '../../../lib/log/index.ts';
import * as keys from '../../../lib/metadata/keys.ts';
import type { MetadataStore, Session } from '../../../lib/metadata/store.ts';
import { BookieErrors } from '../errors.ts';

export interface RegistrationOptions {
  readonly store: MetadataStore;
  readonly clusterName: string;
  readonly bookieId: string;
  readonly ttlMs: number;
  /** How long to wait for a previous incarnation's key to expire. */
  readonly waitMs: number;
  readonly log: Logger;
  /** The registration value for the current state. */
  readonly value: (readOnly: boolean) => BookieRegistration;
}

const POLL_MS = 200;
const MAX_BACKOFF_MS = 5_000;

export class Registration {
  readonly #o: RegistrationOptions;
  #session: Session | undefined;
  #readOnly = false;
  #closed = false;
  /** Serializes register / switch / re-register. */
  #chain: Promise<void> = Promise.resolve();

  constructor(o: RegistrationOptions) {
    this.#o = o;
  }

  get registered(): boolean {
    return this.#session?.alive === true;
  }

  #key(readOnly: boolean): string {
    return keys.bookieRegistration(this.#o.clusterName, readOnly ? 'readonly' : 'writable', this.#o.bookieId);
  }

  #bytes(readOnly: boolean): Uint8Array {
    return toBinary(BookieRegistrationSchema, this.#o.value(readOnly));
  }

  /** Register (waiting out a previous incarnation's keys); resolves once the key is written. */
  start(readOnly: boolean): Promise<void> {
    this.#readOnly = readOnly;
    return this.#serial(() => this.#register());
  }

  /** Move the registration to the writable or read-only key. */
  setReadOnly(readOnly: boolean): Promise<void> {
    return this.#serial(async () => {
      if (readOnly === this.#readOnly) return;
      const from = this.#key(this.#readOnly);
      this.#readOnly = readOnly;
      const session = this.#session;
      if (!session?.alive || this.#closed) return; // the re-registration writes the right key
      await this.#o.store.txn([
        { op: 'delete', key: from },
        { op: 'put', key: this.#key(readOnly), value: this.#bytes(readOnly), session },
      ]);
      this.#o.log.info({ readOnly }, 'registration moved');
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#chain.catch(() => {});
    await this.#session?.close().catch(() => {});
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => {});
    return run;
  }

  async #register(): Promise<void> {
    const { store, ttlMs, waitMs, log } = this.#o;
    await this.#waitForOldKeys(waitMs);
    const session = await store.createSession(ttlMs);
    this.#session = session;
    session.onLost((reason) => {
      log.warn({ err: reason }, 'registration session lost: registering again');
      void this.#serial(() => this.#reregister());
    });
    await store.put(this.#key(this.#readOnly), this.#bytes(this.#readOnly), {
      session,
      expectedVersion: 'absent',
    });
    log.info({ key: this.#key(this.#readOnly), sessionId: session.id }, 'bookie registered');
  }

  async #reregister(): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        await this.#register();
        return;
      } catch (err) {
        const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** attempt);
        this.#o.log.warn({ err, delay }, 'registration failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Wait until no registration key of this bookie id exists under another session. */
  async #waitForOldKeys(waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    let logged = false;
    for (;;) {
      const old = [];
      for (const ro of [false, true]) {
        const e = await this.#o.store.get(this.#key(ro));
        if (e && e.sessionId !== this.#session?.id) old.push(e.key);
      }
      if (old.length === 0) return;
      if (Date.now() >= deadline) {
        throw BookieErrors.make('BOOKIE_REGISTRATION_FAILED', {
          bookieId: this.#o.bookieId,
          why: `keys ${old.join(', ')} of a previous incarnation did not expire within ${waitMs} ms`,
        });
      }
      if (!logged) {
        this.#o.log.info({ keys: old }, 'waiting for the previous incarnation registration to expire');
        logged = true;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}
