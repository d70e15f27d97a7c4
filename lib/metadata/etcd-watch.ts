/**
 * A prefix watch on its own etcd Watch stream, resumed without gaps after a broken stream.
 *
 * `#next` is the first revision not yet delivered: set from the creation header (changes after the
 * watch started) or from `afterVersion`, advanced past every delivered event and by progress
 * notifications. A reconnect asks etcd to start at `#next`, so no change is lost or repeated. If
 * etcd compacted that revision away, or the stream stays down for `watchGiveUpMs`, the watch ends
 * and reports WATCH_COMPACTED / UNAVAILABLE through onError.
 */
import type { IDuplexStream, IKeyValue, IWatchRequest, IWatchResponse, WatchClient } from 'etcd3';
import type { Logger } from '../log/index.ts';
import { backoffMs, closeStream } from './etcd-call.ts';
import { MetadataErrors } from './errors.ts';
import type { MetadataLimits } from './limits.ts';
import type { Entry, Watch, WatchEvent, WatchHandlers } from './store.ts';

export interface EtcdWatchDeps {
  readonly watches: WatchClient;
  readonly limits: MetadataLimits;
  readonly logger: Logger;
  /** etcd key bytes -> store key (root prefix stripped). */
  readonly toEntry: (kv: IKeyValue) => Entry;
  readonly toKey: (raw: Buffer) => string;
  readonly onEnded: (watch: EtcdWatch) => void;
}

type Stream = IDuplexStream<IWatchRequest, IWatchResponse>;

export class EtcdWatch implements Watch {
  readonly prefix: string;
  readonly #deps: EtcdWatchDeps;
  readonly #handlers: WatchHandlers;
  readonly #rangeStart: Buffer;
  readonly #rangeEnd: Buffer;
  #next: number | undefined;
  #stream: Stream | undefined;
  #ended = false;
  /** start() has resolved: later failures go to onError. */
  #started = false;
  #downSince: number | undefined;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #onCreated: ((err?: Error) => void) | undefined;

  constructor(
    deps: EtcdWatchDeps,
    prefix: string,
    range: { start: Buffer; end: Buffer },
    handlers: WatchHandlers,
    afterVersion?: number,
  ) {
    this.#deps = deps;
    this.prefix = prefix;
    this.#rangeStart = range.start;
    this.#rangeEnd = range.end;
    this.#handlers = handlers;
    this.#next = afterVersion === undefined ? undefined : afterVersion + 1;
  }

  /** Open the stream; resolves once etcd confirmed the watch, or fails with UNAVAILABLE. */
  async start(): Promise<void> {
    const { limits } = this.#deps;
    const started = performance.now();
    for (let n = 1; ; n++) {
      try {
        await this.#connect(limits.opAttemptTimeoutMs);
        this.#started = true;
        return;
      } catch (err) {
        if (MetadataErrors.is(err, 'WATCH_COMPACTED') || this.#ended) throw err;
        const elapsedMs = Math.round(performance.now() - started);
        const delay = backoffMs(n, limits);
        if (n >= limits.retryMaxAttempts || elapsedMs + delay >= limits.opDeadlineMs) {
          this.#end();
          throw MetadataErrors.make('UNAVAILABLE', {
            op: 'watch',
            attempts: n,
            elapsedMs,
            cause: String((err as Error).message),
          });
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async close(): Promise<void> {
    this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#retryTimer);
    this.#dropStream();
    this.#deps.onEnded(this);
  }

  #connect(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => settle(new Error(`watch not created within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const settle = (err?: Error) => {
        // Only the attempt in progress: a late failure of an earlier attempt must not end this one.
        if (this.#onCreated !== settle) return;
        this.#onCreated = undefined;
        clearTimeout(timer);
        if (err) {
          this.#dropStream();
          reject(err);
        } else {
          resolve();
        }
      };
      this.#onCreated = settle;
      this.#deps.watches.watch().then(
        (stream) => {
          if (this.#ended || this.#onCreated !== settle) {
            closeStream(stream);
            return;
          }
          this.#stream = stream;
          stream.on('data', (res) => this.#onData(stream, res));
          stream.on('error', (err) => this.#onBroken(stream, err));
          stream.on('end', () => this.#onBroken(stream, new Error('watch stream ended')));
          const create: IWatchRequest['create_request'] = {
            key: this.#rangeStart,
            range_end: this.#rangeEnd,
            progress_notify: true,
          };
          if (this.#next !== undefined) create.start_revision = this.#next;
          stream.write({ create_request: create });
        },
        (err: Error) => settle(err),
      );
    });
  }

  #onData(stream: Stream, res: IWatchResponse): void {
    if (stream !== this.#stream || this.#ended) return;
    if (res.canceled) {
      this.#onCanceled(res);
      return;
    }
    if (res.created) {
      if (this.#next === undefined) this.#next = Number(res.header.revision) + 1;
      this.#downSince = undefined;
      this.#attempt = 0;
      this.#onCreated?.();
      return;
    }
    if (res.events.length === 0) {
      // Progress notification: every change up to header.revision has been sent.
      const progressed = Number(res.header.revision) + 1;
      if (this.#next === undefined || progressed > this.#next) this.#next = progressed;
      return;
    }
    const floor = this.#next; // events below it were delivered before a reconnect
    for (const ev of res.events) {
      const version = Number(ev.kv.mod_revision);
      if (floor !== undefined && version < floor) continue;
      const event: WatchEvent =
        String(ev.type).toUpperCase() === 'DELETE'
          ? { type: 'delete', key: this.#deps.toKey(ev.kv.key), version }
          : { type: 'put', entry: this.#deps.toEntry(ev.kv) };
      this.#deliver(event);
      if (this.#ended) return;
      // Events of one revision (a txn) arrive together; resume after the whole revision.
      this.#next = version + 1;
    }
  }

  #onCanceled(res: IWatchResponse): void {
    const compacted = Number(res.compact_revision);
    const err =
      compacted > 0
        ? MetadataErrors.make('WATCH_COMPACTED', { prefix: this.prefix, version: this.#next, compacted })
        : MetadataErrors.make('UNAVAILABLE', {
            op: 'watch',
            attempts: this.#attempt,
            elapsedMs: 0,
            cause: `etcd canceled the watch: ${res.cancel_reason}`,
          });
    this.#onCreated?.(err);
    if (this.#started) this.#fail(err);
    else this.#end();
  }

  #onBroken(stream: Stream, err: Error): void {
    if (stream !== this.#stream || this.#ended) return;
    this.#stream = undefined;
    if (this.#onCreated) {
      this.#onCreated(err);
      return;
    }
    this.#deps.logger.debug({ err, prefix: this.prefix }, 'watch stream broke; resuming');
    this.#scheduleReconnect(err);
  }

  #scheduleReconnect(cause: Error): void {
    if (this.#ended) return;
    const { limits } = this.#deps;
    this.#downSince ??= performance.now();
    const downMs = performance.now() - this.#downSince;
    if (downMs >= limits.watchGiveUpMs) {
      this.#fail(
        MetadataErrors.make('UNAVAILABLE', {
          op: 'watch',
          attempts: this.#attempt,
          elapsedMs: Math.round(downMs),
          cause: cause.message,
        }),
      );
      return;
    }
    this.#attempt++;
    this.#retryTimer = setTimeout(
      () => {
        this.#connect(limits.opAttemptTimeoutMs).catch((err: Error) => {
          if (MetadataErrors.is(err, 'WATCH_COMPACTED') || this.#ended) return;
          this.#scheduleReconnect(err);
        });
      },
      backoffMs(this.#attempt, limits),
    );
  }

  #deliver(event: WatchEvent): void {
    try {
      this.#handlers.onEvent(event);
    } catch (err) {
      this.#deps.logger.error(
        { err, prefix: this.prefix },
        'watch handler threw; event skipped by that handler',
      );
    }
  }

  #fail(err: Error): void {
    if (this.#ended) return;
    this.#end();
    try {
      this.#handlers.onError?.(err);
    } catch (e) {
      this.#deps.logger.error({ err: e, prefix: this.prefix }, 'watch onError handler threw');
    }
  }

  #dropStream(): void {
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream) closeStream(stream);
  }
}
