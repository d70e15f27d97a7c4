/**
 * The LedgerClient (lib/ledger/api.ts) over injected parts: a bookie transport, a ledger metadata
 * store, a bookie registry, a clock. `createLedgerClient` is what both production (gRPC, etcd) and
 * the deterministic simulation construct.
 */
import type { LedgerMetadata } from '../../gen/magnetar/meta/v1/meta_pb.ts';
import type { CreateLedgerOptions, LedgerClient, LedgerId, ReadableLedger } from '../api.ts';
import { ledgerError } from '../errors.ts';
import { type LedgerLimits, ledgerLimits } from '../limits.ts';
import { isValidQuorum } from '../protocol/distribution.ts';
import { allBookies, type LedgerMeta, samePassword, toProto } from '../protocol/metadata.ts';
import { type PlacementPolicy, spreadPlacement } from '../protocol/placement.ts';
import type { ProtocolDefects } from '../protocol/recovery.ts';
import type { DriverContext } from './context.ts';
import { EntryReader } from './entry-reader.ts';
import { type LedgerEnv, realEnv } from './env.ts';
import type { LedgerMetaStore } from './meta-store.ts';
import { LedgerReader } from './read-handle.ts';
import { recoverLedger } from './recovery-driver.ts';
import type { BookieRegistry } from './registry.ts';
import type { BookieTransport } from './transport.ts';
import { LedgerWriter } from './writer.ts';

export interface LedgerClientDeps {
  readonly store: LedgerMetaStore;
  readonly registry: BookieRegistry;
  readonly transport: BookieTransport;
  readonly env?: LedgerEnv;
  readonly limits?: Partial<LedgerLimits>;
  readonly placement?: PlacementPolicy;
  /** Closed with the client (true when the client built them itself). */
  readonly ownsTransport?: boolean;
  readonly trace?: (event: string, details: Record<string, unknown>) => void;
  /** Re-introduce known protocol defects. Tests only: proves the simulation catches each. */
  readonly testOnlyDefects?: ProtocolDefects;
}

/** The client plus handles the simulation and tests reach into. */
export interface LedgerClientImpl extends LedgerClient {
  readonly context: DriverContext;
  createLedger(opts: CreateLedgerOptions): Promise<LedgerWriter>;
}

export function createLedgerClient(deps: LedgerClientDeps): LedgerClientImpl {
  const ctx: DriverContext = {
    env: deps.env ?? realEnv,
    transport: deps.transport,
    store: deps.store,
    registry: deps.registry,
    placement: deps.placement ?? spreadPlacement,
    limits: ledgerLimits(deps.limits ?? {}),
    defects: deps.testOnlyDefects ?? {},
    suspectBookies: new Map(),
    trace: deps.trace,
  };
  const writers = new Set<LedgerWriter>();
  let closed = false;
  const checkOpen = () => {
    if (closed) throw ledgerError('CLIENT_CLOSED');
  };

  const client: LedgerClientImpl = {
    context: ctx,

    async createLedger(opts) {
      checkOpen();
      const q = { ensembleSize: opts.ensembleSize, writeQuorum: opts.writeQuorum, ackQuorum: opts.ackQuorum };
      if (!isValidQuorum(q)) throw ledgerError('INVALID_QUORUM', { ...q });
      const candidates = ctx.registry.writable();
      const ensemble = ctx.placement.newEnsemble(q.ensembleSize, candidates, ctx.env.random);
      if (ensemble === undefined) {
        throw ledgerError('NOT_ENOUGH_BOOKIES', { needed: q.ensembleSize, available: candidates.length });
      }
      const ledgerId = await ctx.store.allocateLedgerId();
      const meta: LedgerMeta = {
        ledgerId,
        ...q,
        state: 'open',
        lastEntryId: -1,
        length: 0,
        segments: [{ bookieIds: ensemble, firstEntryId: 0 }],
        password: Uint8Array.from(opts.password),
        ctimeMs: Math.floor(ctx.env.nowMs()),
        customMetadata: { ...opts.customMetadata },
      };
      const version = await ctx.store.create(meta);
      ctx.trace?.('ledger.created', { ledgerId, ensemble: ensemble.join(',') });
      const writer = new LedgerWriter(ctx, { meta, version }, meta.password, () => writers.delete(writer));
      writers.add(writer);
      return writer;
    },

    async openLedger(ledgerId, opts): Promise<ReadableLedger> {
      checkOpen();
      if (opts.recovery) {
        const vm = await recoverLedger(ctx, ledgerId, opts.password);
        return new LedgerReader(ctx, vm, opts.password, vm.meta.lastEntryId);
      }
      const vm = await ctx.store.read(ledgerId);
      if (vm === undefined) throw ledgerError('NO_SUCH_LEDGER', { ledgerId });
      if (!samePassword(vm.meta.password, opts.password)) throw ledgerError('UNAUTHORIZED', { ledgerId });
      let lac = vm.meta.lastEntryId;
      if (vm.meta.state !== 'closed') {
        // The LAC known at open; -1 if no bookie answers (readers refresh it later).
        lac = (await new EntryReader(ctx, opts.password).readLac(vm.meta)) ?? -1;
      }
      return new LedgerReader(ctx, vm, opts.password, lac);
    },

    async deleteLedger(ledgerId: LedgerId) {
      checkOpen();
      const vm = await ctx.store.read(ledgerId);
      if (vm === undefined) throw ledgerError('NO_SUCH_LEDGER', { ledgerId });
      await ctx.store.remove(ledgerId);
      // Best effort: bookies also garbage-collect ledgers whose metadata is gone.
      await Promise.all(
        allBookies(vm.meta).map(
          (bookieId) =>
            new Promise<void>((resolve) =>
              ctx.transport.deleteLedger(bookieId, ledgerId, ctx.limits.bookieRequestTimeoutMs, () =>
                resolve(),
              ),
            ),
        ),
      );
    },

    async getLedgerMetadata(ledgerId): Promise<LedgerMetadata | undefined> {
      checkOpen();
      const vm = await ctx.store.read(ledgerId);
      return vm === undefined ? undefined : toProto(vm.meta);
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const w of writers) w.abort({ code: 'CLIENT_CLOSED', details: {} });
      writers.clear();
      if (deps.ownsTransport) await ctx.transport.close();
    },
  };
  return client;
}
