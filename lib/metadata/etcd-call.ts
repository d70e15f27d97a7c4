/**
 * One etcd call with a per-attempt deadline, a total deadline and bounded, jittered retries.
 *
 * Whether a failed attempt may be retried depends on what we know about it:
 * - not sent (no connection, still waiting for a transport): nothing happened; retry anything.
 * - ambiguous (deadline passed or the stream broke after the request left): a read is retried; a
 *   write is NOT (it may be applied later, e.g. by an etcd that was paused) and fails with TIMEOUT,
 *   "outcome unknown", so the caller re-reads instead of trusting a blind retry.
 * When retries run out the call fails with UNAVAILABLE, which therefore always means "not applied".
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isMagnetarError } from '../errors/index.ts';
import { MetadataErrors } from './errors.ts';
import type { MetadataLimits } from './limits.ts';

export type CallKind = 'read' | 'write';

/** What a failed attempt tells us. */
export type FailureClass = 'not-sent' | 'ambiguous' | 'lease-gone' | 'closed' | 'permanent';

const NOT_SENT = [
  /no connection established/i,
  /waiting for lb pick/i,
  /ECONNREFUSED/,
  /name resolution failed/i,
  /before call started/i, // the channel was closed while the call waited for a connection
];
const AMBIGUOUS_NAMES = new Set([
  'GRPCDeadlineExceededError',
  'GRPCUnavailableError',
  'GRPCCancelledError',
  'GRPCUnknownError',
  'GRPCInternalError',
  'GRPCResourceExhastedError',
  'GRPCAbortedError',
  'EtcdWatchStreamEnded',
]);
// etcd server-side conditions that clear up on their own (leader election, overload).
const AMBIGUOUS_ETCD = [
  /leader changed/i,
  /no leader/i,
  /request timed out/i,
  /too many requests/i,
  /timed out/i,
];

export function classifyFailure(err: unknown): FailureClass {
  const e = err as Error;
  const name = e?.constructor?.name ?? '';
  const message = String(e?.message ?? err);
  if (name === 'ClientClosedError') return 'closed';
  if (name === 'EtcdLeaseInvalidError' || /requested lease not found/i.test(message)) return 'lease-gone';
  if (NOT_SENT.some((re) => re.test(message))) return 'not-sent';
  if (AMBIGUOUS_NAMES.has(name)) return 'ambiguous';
  if (AMBIGUOUS_ETCD.some((re) => re.test(message))) return 'ambiguous';
  return 'permanent';
}

export function backoffMs(attempt: number, limits: MetadataLimits): number {
  const base = Math.min(
    limits.retryBackoffMaxMs,
    limits.retryBackoffInitialMs * 2 ** Math.max(0, attempt - 1),
  );
  return Math.round(base * (0.5 + Math.random() * 0.5));
}

export class EtcdCaller {
  readonly #limits: MetadataLimits;
  readonly #isClosed: () => boolean;

  constructor(limits: MetadataLimits, isClosed: () => boolean) {
    this.#limits = limits;
    this.#isClosed = isClosed;
  }

  /**
   * Run `attempt` (given the absolute Date.now()-based deadline to pass to gRPC) until it succeeds,
   * fails for good, or retries run out. Errors `attempt` throws as MagnetarErrors pass through.
   */
  async run<T>(op: string, kind: CallKind, attempt: (deadline: number) => Promise<T>): Promise<T> {
    const limits = this.#limits;
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    for (let n = 1; ; n++) {
      if (this.#isClosed()) throw MetadataErrors.make('STORE_CLOSED');
      const remaining = limits.opDeadlineMs - elapsed();
      const attemptMs = Math.max(1, Math.min(limits.opAttemptTimeoutMs, remaining));
      try {
        return await attempt(Date.now() + attemptMs);
      } catch (err) {
        if (isMagnetarError(err)) throw err;
        const cls = classifyFailure(err);
        const cause = String((err as Error)?.message ?? err);
        if (cls === 'closed' || this.#isClosed()) throw MetadataErrors.make('STORE_CLOSED', {}, err);
        if (cls === 'lease-gone') throw err; // the caller knows which session it was
        if (cls === 'permanent') {
          throw MetadataErrors.make('INVALID_ARGUMENT', { what: `etcd ${op}`, why: cause }, err);
        }
        if (cls === 'ambiguous' && kind === 'write') {
          throw MetadataErrors.make('TIMEOUT', { op, elapsedMs: elapsed(), cause }, err);
        }
        const delay = backoffMs(n, limits);
        if (n >= limits.retryMaxAttempts || elapsed() + delay >= limits.opDeadlineMs) {
          throw MetadataErrors.make('UNAVAILABLE', { op, attempts: n, elapsedMs: elapsed(), cause }, err);
        }
        await sleep(delay);
      }
    }
  }
}

/**
 * Close a gRPC stream we no longer need. Our side is ended first: etcd3 takes an error on a stream
 * that is still writable as a broken connection and closes every gRPC channel of the client (calls
 * about to start then fail with UNAVAILABLE, other streams must reconnect), and a cancel raises
 * exactly such an error (CANCELLED). After end() the stream is no longer writable, so the cancel
 * stays local to this stream.
 */
export function closeStream(stream: { end(): unknown; cancel(): void }): void {
  try {
    stream.end();
  } catch {
    /* already ended or destroyed: the cancel below still applies */
  }
  try {
    stream.cancel();
  } catch {
    /* already gone */
  }
}
