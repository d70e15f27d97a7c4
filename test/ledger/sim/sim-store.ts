/**
 * A simulated metadata store with the CAS semantics of lib/metadata/store.ts (versions never
 * reused; put with expectedVersion; BAD_VERSION / NO_SUCH_KEY / KEY_EXISTS on a failed
 * condition). Each call takes a network round trip; a call is applied when it reaches the store.
 * With `ambiguousFailureProbability` a write may apply and still report TIMEOUT (outcome unknown),
 * as a client timing out on etcd would: callers must cope with not knowing. A call that cannot
 * reach the store is UNAVAILABLE (not applied).
 */
import { defineErrors } from '../../../lib/errors/index.ts';
import type { Entry, MetadataStore, PutOptions } from '../../../lib/metadata/store.ts';
import type { SimNetwork, SimNode } from './network.ts';
import type { Rng } from './rng.ts';
import type { Scheduler } from './scheduler.ts';

const CALL_TIMEOUT_MS = 100;

const StoreErrors = defineErrors({
  BAD_VERSION: { message: 'version mismatch on {key}', retry: 'retryable' },
  NO_SUCH_KEY: { message: 'no key {key}', retry: 'bad-request' },
  KEY_EXISTS: { message: 'key {key} exists', retry: 'bad-request' },
  UNAVAILABLE: { message: 'store unavailable (not applied)', retry: 'retryable' },
  TIMEOUT: { message: 'store call timed out (outcome unknown)', retry: 'retryable' },
});

export class SimStoreServer {
  readonly node: SimNode;
  readonly #data = new Map<string, Entry>();
  #revision = 0;

  constructor(node: SimNode) {
    this.node = node;
  }

  get(key: string): Entry | undefined {
    return this.#data.get(key);
  }

  keys(): string[] {
    return [...this.#data.keys()];
  }

  put(key: string, value: Uint8Array, opts: PutOptions = {}): number {
    const cur = this.#data.get(key);
    const exp = opts.expectedVersion;
    if (exp === 'absent' && cur) throw StoreErrors.make('KEY_EXISTS', { key });
    if (typeof exp === 'number' && !cur) throw StoreErrors.make('NO_SUCH_KEY', { key });
    if (typeof exp === 'number' && cur && cur.version !== exp) throw StoreErrors.make('BAD_VERSION', { key });
    const version = ++this.#revision;
    this.#data.set(key, { key, value, version, createVersion: cur?.createVersion ?? version });
    return version;
  }

  delete(key: string): boolean {
    return this.#data.delete(key);
  }
}

/** A client's view of the store: calls cross the network from `node`. */
export function simStoreClient(
  server: SimStoreServer,
  node: SimNode,
  net: SimNetwork,
  sched: Scheduler,
  rng: Rng,
  ambiguousFailureProbability: number,
): MetadataStore {
  const call = <T>(what: string, op: () => T, write: boolean): Promise<T> =>
    new Promise<T>((resolveOuter, rejectOuter) => {
      // Like an etcd client's deadline: no answer in time means UNAVAILABLE (the op may have applied).
      let settled = false;
      const life = node.incarnation;
      const timer = sched.schedule(CALL_TIMEOUT_MS, () => {
        if (node.alive && node.incarnation === life) reject(StoreErrors.make('TIMEOUT'));
      });
      const resolve = (v: T) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        resolveOuter(v);
      };
      const reject = (e: unknown) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        rejectOuter(e);
      };
      net.send(
        node,
        server.node,
        what,
        () => {
          let result: { ok: T } | { err: unknown };
          try {
            result = { ok: op() };
          } catch (err) {
            result = { err };
          }
          if (write && rng.chance(ambiguousFailureProbability)) result = { err: StoreErrors.make('TIMEOUT') };
          net.send(server.node, node, `${what}-reply`, () =>
            'ok' in result ? resolve(result.ok) : reject(result.err),
          );
        },
        () => reject(StoreErrors.make('UNAVAILABLE')),
      );
    });
  const unsupported = (): never => {
    throw new Error('not simulated');
  };
  return {
    get: (key) => call(`get ${key}`, () => server.get(key), false),
    put: (key, value, opts) => call(`put ${key}`, () => server.put(key, value, opts), true),
    delete: (key) => call(`delete ${key}`, () => server.delete(key), true),
    list: unsupported,
    listAll: unsupported,
    deletePrefix: unsupported,
    txn: unsupported,
    watch: unsupported,
    createSession: unsupported,
    revokeSession: unsupported,
    close: async () => {},
  };
}
