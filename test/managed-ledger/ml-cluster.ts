/**
 * Real parts for the managed-ledger integration tests: bookie processes registered in the shared
 * etcd (test/ledger/real-cluster.ts), a real ledger client, and managed-ledger factories over
 * them. The counting wrappers only observe calls on the real objects (how many bookie reads,
 * how many metadata writes); they never change what happens.
 */
import type { LedgerClient, ReadableLedger } from '../../lib/ledger/api.ts';
import type { MetadataStore, TxnOp } from '../../lib/metadata/store.ts';
import { BookieTestClient } from '../../services/bookie/testing/client.ts';
import {
  createManagedLedgerFactory,
  type ManagedLedgerFactoryOptions,
} from '../../services/broker/managed-ledger/factory.ts';
import type { ManagedLedgerSettings } from '../../services/broker/managed-ledger/limits.ts';
import { uniquePrefix } from '../harness/index.ts';
import { connectClient, type RealCluster, startRealCluster } from '../ledger/real-cluster.ts';

export interface MlCluster {
  readonly rc: RealCluster;
  /** A plain store, for checks (every factory gets its own counting view). */
  readonly store: MetadataStore;
  readonly client: LedgerClient;
  readonly cluster: string;
  stop(): Promise<void>;
}

export async function startMlCluster(
  etcdEndpoint: string,
  bookies: number,
  extraBookieArgs: string[] = [],
): Promise<MlCluster> {
  const rc = await startRealCluster({ etcdEndpoint, prefix: uniquePrefix('ml'), bookies, extraBookieArgs });
  const store = await rc.openStore();
  const client = await connectClient(rc, store);
  return {
    rc,
    store,
    client,
    cluster: rc.cluster,
    async stop() {
      await client.close();
      await store.close();
      await rc.stop();
    },
  };
}

/** Ledger ids each bookie process holds in its own storage (asked over its gRPC API). */
export async function ledgersOnBookies(mc: MlCluster): Promise<Set<number>> {
  const ids = new Set<number>();
  for (const b of mc.rc.bookies) {
    const c = new BookieTestClient(`127.0.0.1:${b.grpcPort}`);
    try {
      let after = -1;
      for (;;) {
        const page = await c.listLedgers(after, 1000);
        for (const id of page.ledgerIds) ids.add(Number(id));
        if (!page.more || page.ledgerIds.length === 0) break;
        after = Number(page.ledgerIds[page.ledgerIds.length - 1]);
      }
    } finally {
      c.close();
    }
  }
  return ids;
}

/** Counts bookie reads made through a client (handles opened or created by it). */
export interface ReadCounter {
  bookieReads: number;
  entriesRead: number;
}

function countHandle<T extends ReadableLedger>(h: T, counter: ReadCounter): T {
  return new Proxy(h, {
    get(target, key) {
      const v = Reflect.get(target, key, target);
      if (key === 'read')
        return async (first: number, last: number) => {
          counter.bookieReads++;
          const out = await target.read(first, last);
          counter.entriesRead += out.length;
          return out;
        };
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

export function countingClient(client: LedgerClient): { client: LedgerClient; counter: ReadCounter } {
  const counter: ReadCounter = { bookieReads: 0, entriesRead: 0 };
  const wrapped: LedgerClient = {
    createLedger: async (o) => countHandle(await client.createLedger(o), counter),
    openLedger: async (id, o) => countHandle(await client.openLedger(id, o), counter),
    deleteLedger: (id) => client.deleteLedger(id),
    getLedgerMetadata: (id) => client.getLedgerMetadata(id),
    close: async () => undefined,
  };
  return { client: wrapped, counter };
}

/** Records every key a store write touched (put, delete, txn put/delete). */
export interface WriteLog {
  readonly keys: string[];
}

export function countingStore(store: MetadataStore): { store: MetadataStore; writes: WriteLog } {
  const writes: WriteLog = { keys: [] };
  const proxy = new Proxy(store, {
    get(target, key) {
      const v = Reflect.get(target, key, target);
      if (key === 'put' || key === 'delete')
        return (k: string, ...rest: unknown[]) => {
          writes.keys.push(k);
          return (v as (...a: unknown[]) => unknown).call(target, k, ...rest);
        };
      if (key === 'txn')
        return (ops: readonly TxnOp[]) => {
          for (const op of ops) if (op.op !== 'check') writes.keys.push(op.key);
          return target.txn(ops);
        };
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { store: proxy, writes };
}

export interface FactoryOptions {
  readonly settings?: Partial<ManagedLedgerSettings>;
  readonly now?: () => number;
  readonly client?: LedgerClient;
  readonly store?: MetadataStore;
}

/** A factory (one "broker") over the cluster. */
export function factoryOn(mc: MlCluster, o: FactoryOptions = {}) {
  const opts: ManagedLedgerFactoryOptions = {
    store: o.store ?? mc.store,
    client: o.client ?? mc.client,
    cluster: mc.cluster,
    settings: { defaultEnsembleSize: 2, defaultWriteQuorum: 2, defaultAckQuorum: 2, ...o.settings },
    now: o.now,
  };
  return createManagedLedgerFactory(opts);
}

export const enc = (s: string) => new TextEncoder().encode(s);
export const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Poll `cond` until true (deadline only guards against hangs; no timing is asserted). */
export async function eventually(cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not reached before the deadline');
    await new Promise((r) => setTimeout(r, 25));
  }
}
