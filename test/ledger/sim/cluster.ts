/**
 * A simulated cluster: bookies, a metadata store, the network, and ledger clients (the real
 * lib/ledger client code, over simulated transport, store and clock). Everything random comes
 * from one seed.
 */
import { createLedgerClient, type LedgerClientImpl } from '../../../lib/ledger/driver/client.ts';
import type { LedgerEnv } from '../../../lib/ledger/driver/env.ts';
import { metadataLedgerStore } from '../../../lib/ledger/driver/meta-store.ts';
import type { LedgerLimits } from '../../../lib/ledger/limits.ts';
import { allBookies, decodeMeta } from '../../../lib/ledger/protocol/metadata.ts';
import type { ProtocolDefects } from '../../../lib/ledger/protocol/recovery.ts';
import { calmNetwork, type NetworkFaults, SimNetwork, SimNode } from './network.ts';
import { Rng } from './rng.ts';
import { Scheduler } from './scheduler.ts';
import { SimBookie } from './sim-bookie.ts';
import { SimRegistry } from './sim-registry.ts';
import { SimStoreServer, simStoreClient } from './sim-store.ts';
import { SimTransport } from './sim-transport.ts';

/** Client limits scaled to simulated milliseconds. */
export const simLimits: Partial<LedgerLimits> = {
  addTimeoutMs: 3_000,
  bookieAddTimeoutMs: 150,
  bookieRequestTimeoutMs: 150,
  speculativeReadDelayMs: 20,
  metadataRetryDelayMs: 20,
  recoveryRetryDelayMs: 50,
  recoveryAttemptsMax: 20,
  recoveryReadAttemptsMax: 20,
  ensembleChangesMax: 30,
  readRangeEntriesMax: 16,
};

export interface ClusterOptions {
  readonly seed: number;
  readonly bookies: number;
  readonly network?: NetworkFaults;
  readonly fsyncMaxMs?: number;
  readonly ambiguousStoreFailureProbability?: number;
  readonly sessionTtlMs?: number;
  readonly trace?: boolean;
}

export interface SimClient {
  readonly node: SimNode;
  readonly client: LedgerClientImpl;
  readonly transport: SimTransport;
}

export class SimCluster {
  readonly sched = new Scheduler();
  readonly rng: Rng;
  readonly net: SimNetwork;
  readonly bookies = new Map<string, SimBookie>();
  readonly registry: SimRegistry;
  readonly storeServer = new SimStoreServer(new SimNode('etcd'));
  readonly opts: ClusterOptions;
  readonly traceLines: string[] = [];
  #nextLedgerId = 1;
  #clients = 0;

  constructor(opts: ClusterOptions) {
    this.opts = opts;
    this.rng = new Rng(opts.seed);
    this.net = new SimNetwork(this.sched, this.rng.fork(), opts.network ?? calmNetwork);
    const labels = new Map<string, Record<string, string>>();
    for (let i = 0; i < opts.bookies; i++) {
      const id = `b${i}`;
      this.bookies.set(id, new SimBookie(id, this.sched, this.rng.fork(), opts.fsyncMaxMs ?? 2));
      labels.set(id, { zone: `z${i % 3}`, rack: `r${i % 2}` });
    }
    this.registry = new SimRegistry([...this.bookies.values()], labels);
  }

  trace(line: string): void {
    if (this.opts.trace) this.traceLines.push(`${this.sched.nowMs.toFixed(3)} ${line}`);
  }

  newClient(name?: string, defects: ProtocolDefects = {}, limits: Partial<LedgerLimits> = {}): SimClient {
    const node = new SimNode(name ?? `c${this.#clients++}`);
    const rng = this.rng.fork();
    const env: LedgerEnv = {
      nowMs: () => this.sched.nowMs,
      setTimer: (delayMs, fn) => {
        const life = node.incarnation;
        return this.sched.schedule(delayMs, () => {
          if (node.alive && node.incarnation === life) fn();
        });
      },
      nextTick: (fn) => {
        this.sched.schedule(0, () => node.alive && fn());
      },
      random: () => rng.next(),
    };
    const transport = new SimTransport(node, this.net, this.sched, this.bookies);
    const metadata = simStoreClient(
      this.storeServer,
      node,
      this.net,
      this.sched,
      rng.fork(),
      this.opts.ambiguousStoreFailureProbability ?? 0,
    );
    const store = metadataLedgerStore({
      store: metadata,
      ledgerKey: (id) => `/sim/ledgers/${id}`,
      allocateLedgerId: async () => this.#nextLedgerId++,
    });
    const client = createLedgerClient({
      store,
      registry: this.registry,
      transport,
      env,
      limits: { ...simLimits, ...limits },
      testOnlyDefects: defects,
      trace: this.opts.trace
        ? (event, d) => this.trace(`${node.id} ${event} ${JSON.stringify(d)}`)
        : undefined,
    });
    return { node, client, transport };
  }

  crashBookie(id: string): void {
    const b = this.bookies.get(id)!;
    if (!b.alive) return;
    b.crash();
    this.registry.expireAfterCrash(b, this.sched, this.opts.sessionTtlMs ?? 30);
    this.trace(`crash ${id}`);
  }

  restartBookie(id: string): void {
    const b = this.bookies.get(id)!;
    if (b.alive) return;
    b.restart();
    this.registry.register(b);
    this.trace(`restart ${id}`);
  }

  /** Ledgers whose current metadata names bookie `id`. */
  ledgersNaming(id: string): number[] {
    const out: number[] = [];
    for (const key of this.storeServer.keys()) {
      const ledgerId = Number(key.slice(key.lastIndexOf('/') + 1));
      const meta = decodeMeta(this.storeServer.get(key)!.value, ledgerId);
      if (allBookies(meta).includes(id)) out.push(ledgerId);
    }
    return out;
  }

  wipeBookie(id: string): void {
    const b = this.bookies.get(id)!;
    b.wipe(this.ledgersNaming(id));
    this.registry.expireAfterCrash(b, this.sched, this.opts.sessionTtlMs ?? 30);
    this.trace(`wipe ${id}`);
  }

  /** Restart every bookie, heal partitions, stop losing messages. */
  healAll(): void {
    for (const id of this.bookies.keys()) {
      this.restartBookie(id);
      this.bookies.get(id)!.readOnly = false;
    }
    this.net.healAll();
    this.net.script = undefined;
    this.net.faults = calmNetwork;
    this.trace('heal all');
  }
}
