/**
 * The reconnect loop of producers and consumers: wait (backoff), try again, until it works, the
 * owner no longer wants it (closed), or an error says retrying cannot help.
 */
import type { Logger } from '../../log/index.ts';
import type { Backoff } from './backoff.ts';
import { sleep } from './retry.ts';

export interface ReconnectOptions {
  readonly backoff: Backoff;
  readonly attempt: () => Promise<void>;
  /** False once the owner closed (or gave up) while we were waiting. */
  readonly wanted: () => boolean;
  /** Errors after which reconnecting cannot help. */
  readonly isFinal: (err: unknown) => boolean;
  readonly log: Logger;
  readonly what: Record<string, unknown>;
}

export type ReconnectOutcome =
  | { readonly kind: 'connected' }
  | { readonly kind: 'abandoned' }
  | { readonly kind: 'final'; readonly error: unknown };

export async function reconnect(o: ReconnectOptions): Promise<ReconnectOutcome> {
  while (o.wanted()) {
    await sleep(o.backoff.next());
    if (!o.wanted()) break;
    try {
      await o.attempt();
      o.backoff.reset();
      o.log.info(o.what, 'reconnected');
      return { kind: 'connected' };
    } catch (err) {
      if (o.isFinal(err) && o.wanted()) {
        o.log.warn({ ...o.what, err: (err as Error).message }, 'cannot reconnect');
        return { kind: 'final', error: err };
      }
      o.log.debug({ ...o.what, err: (err as Error).message }, 'reconnect failed; retrying');
    }
  }
  return { kind: 'abandoned' };
}

/** True when `err` carries one of the codes. */
export function hasCode(err: unknown, codes: ReadonlySet<string>): boolean {
  return codes.has((err as { code?: string } | undefined)?.code ?? '');
}
