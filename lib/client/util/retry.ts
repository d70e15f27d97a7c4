/**
 * Retrying an operation with backoff until a deadline: used for the first connection of
 * producers and consumers (lookup + create) and for reconnects. Only errors the caller deems
 * retryable are retried; the last error is rethrown when the deadline passes.
 */
import { clientErrors } from '../errors.ts';
import type { Backoff } from './backoff.ts';

export interface RetryOptions {
  readonly operation: string;
  readonly timeoutMs: number;
  readonly backoff: Backoff;
  readonly retryable: (err: unknown) => boolean;
  /** Stop early (e.g. the client was closed). */
  readonly cancelled?: () => boolean;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function retryUntilDeadline<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!opts.retryable(err) || opts.cancelled?.()) throw err;
      const delay = opts.backoff.next();
      if (Date.now() + delay >= deadline) {
        throw clientErrors.make(
          'TIMEOUT',
          { operation: opts.operation, timeoutMs: opts.timeoutMs, lastError: (err as Error).message },
          err,
        );
      }
      await sleep(delay);
    }
  }
}

/** Run `promise` but give up after timeoutMs with a TIMEOUT error naming the operation. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(clientErrors.make('TIMEOUT', { operation, timeoutMs })), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
