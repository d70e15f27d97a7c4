/**
 * Autorecovery as a coordinator leader duty: while this replica leads, follow bookie
 * registrations and decommission marks, audit ledgers (after a bookie has been gone for
 * `lostBookieRecoveryDelayMs`, on every decommission mark, and every `auditIntervalMs`), and
 * re-replicate the marked ledgers with bounded concurrency. Progress: /status/autorecovery and
 * the magnetar_autorecovery_* metrics.
 *
 * The bookie transport and fencing come from the ledger layer (`open`), so the coordinator
 * process and standalone mode share one construction: see main.ts.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { UnderReplicatedLedgerSchema as UnderReplicated } from '../../../lib/gen/magnetar/cluster/v1/cluster_pb.ts';
import { BookieRegistrationSchema } from '../../../lib/gen/magnetar/meta/v1/meta_pb.ts';
import { metadataLedgerStore } from '../../../lib/ledger/driver/meta-store.ts';
import type { BookieTransport } from '../../../lib/ledger/driver/transport.ts';
import * as keys from '../../../lib/metadata/keys.ts';
import type { Session } from '../../../lib/metadata/store.ts';
import type { DutyContext, LeaderDuty } from '../coordinator.ts';
import { Auditor, type BookieState } from './auditor.ts';
import { PrefixMirror } from './mirror.ts';
import { isMissing } from './plan.ts';
import { Replicator } from './replicator.ts';
import { RecoveryStatus } from './status.ts';

export interface LedgerAccess {
  readonly transport: BookieTransport;
  /** Recover and close the ledger (LedgerClient.openLedger with recovery), fencing its writer. */
  fence(ledgerId: number, password: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

const TICK_MS = 250;

export function autorecoveryDuty(
  open: (ctx: DutyContext) => Promise<LedgerAccess>,
): (ctx: DutyContext) => LeaderDuty {
  return (ctx) => new AutorecoveryDuty(ctx, open);
}

class AutorecoveryDuty implements LeaderDuty {
  readonly name = 'autorecovery';
  readonly #ctx: DutyContext;
  readonly #open: (ctx: DutyContext) => Promise<LedgerAccess>;
  readonly #status: RecoveryStatus;
  readonly #auditor: Auditor;
  #access: LedgerAccess | undefined;
  #session: Session | undefined;
  #bookies: PrefixMirror | undefined;
  #markers: PrefixMirror | undefined;
  #replicator: Replicator | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #auditing: Promise<unknown> | undefined;
  #auditDueMs = 0;
  #lastAuditStartMs = 0;
  #decommissioned = new Set<string>();
  #starting: Promise<void> | undefined;
  #lastError: string | undefined;
  #renewing: Promise<void> | undefined;

  constructor(ctx: DutyContext, open: (ctx: DutyContext) => Promise<LedgerAccess>) {
    this.#ctx = ctx;
    this.#open = open;
    this.#status = new RecoveryStatus(ctx.config.statusMaxLedgers, ctx.metrics);
    this.#auditor = new Auditor(ctx.store, ctx.config.cluster, ctx.config.lostBookieRecoveryDelayMs, ctx.log);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#starting = this.#begin().catch((err: unknown) => {
      this.#lastError = (err as Error).message;
      this.#ctx.log.error({ err: this.#lastError }, 'autorecovery could not start; retrying');
      this.#running = false;
      setTimeout(
        () => this.#ctx.isLeader() && this.start(),
        this.#ctx.config.rereplicationRetryDelayMs,
      ).unref();
    });
  }

  async #begin(): Promise<void> {
    const { store, config, log } = this.#ctx;
    this.#access ??= await this.#open(this.#ctx);
    this.#session = await store.createSession(config.sessionTtlMs);
    this.#replicator = new Replicator({
      store,
      cluster: config.cluster,
      config,
      log,
      transport: this.#access.transport,
      ledgers: metadataLedgerStore({
        store,
        ledgerKey: (id) => keys.ledger(config.cluster, id),
        allocateLedgerId: () => Promise.reject(new Error('autorecovery creates no ledgers')),
      }),
      fence: (id, password) => this.#access!.fence(id, password),
      availability: (now) => this.#auditor.availability(now),
      session: () => this.#liveSession(),
      status: this.#status,
    });
    this.#replicator.start();
    this.#bookies = new PrefixMirror(
      store,
      [
        keys.bookieRegistrationsPrefix(config.cluster, 'writable'),
        keys.bookieRegistrationsPrefix(config.cluster, 'readonly'),
        keys.decommissionedBookiesPrefix(config.cluster),
      ],
      () => this.#bookiesChanged(),
      log,
      config.viewResyncDelayMs,
    );
    this.#markers = new PrefixMirror(
      store,
      [keys.underReplicatedLedgersPrefix(config.cluster)],
      () => this.#pump(),
      log,
      config.viewResyncDelayMs,
    );
    await this.#bookies.start();
    await this.#markers.start();
    this.#auditDueMs = Date.now();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
    this.#tick();
    log.info('autorecovery running');
  }

  /** The duty's session for ledger locks; a lost one is replaced in the background. */
  #liveSession(): Session | undefined {
    if (this.#session?.alive) return this.#session;
    if (this.#running && !this.#renewing) {
      this.#renewing = this.#ctx.store
        .createSession(this.#ctx.config.sessionTtlMs)
        .then((s) => {
          if (this.#running) this.#session = s;
          else void s.close().catch(() => undefined);
        })
        .catch((err: unknown) =>
          this.#ctx.log.warn({ err: (err as Error).message }, 'autorecovery session not renewed yet'),
        )
        .finally(() => {
          this.#renewing = undefined;
        });
    }
    return undefined;
  }

  #bookieState(): BookieState {
    const registered = new Set<string>();
    const writable = new Set<string>();
    const decommissioned = new Set<string>();
    for (const e of this.#bookies?.entries.values() ?? []) {
      const dec = keys.parseDecommissionedBookieKey(e.key);
      if (dec) {
        decommissioned.add(dec.bookieId);
        continue;
      }
      const reg = keys.parseBookieRegistrationKey(e.key);
      if (!reg) continue;
      registered.add(reg.bookieId);
      let readOnly = reg.state === 'readonly';
      try {
        readOnly ||= fromBinary(BookieRegistrationSchema, e.value).readOnly;
      } catch {
        readOnly = true; // unreadable registration: never a copy target
      }
      if (!readOnly) writable.add(reg.bookieId);
    }
    return { registered, writable, decommissioned };
  }

  #bookiesChanged(): void {
    const state = this.#bookieState();
    this.#auditor.updateBookies(state, Date.now());
    // A new decommission mark is worth an audit now; a lost bookie waits for its delay (#tick).
    if ([...state.decommissioned].some((b) => !this.#decommissioned.has(b))) this.#auditDueMs = Date.now();
    this.#decommissioned = new Set(state.decommissioned);
    this.#pump();
  }

  #markerMap(): Map<number, { version: number; value: Uint8Array; key: string }> {
    const out = new Map<number, { version: number; value: Uint8Array; key: string }>();
    for (const e of this.#markers?.entries.values() ?? []) {
      const p = keys.parseUnderReplicatedLedgerKey(e.key);
      if (p) out.set(p.ledgerId, e);
    }
    return out;
  }

  #pump(): void {
    if (!this.#running || !this.#ctx.isLeader()) return;
    this.#replicator?.pump(this.#markerMap(), Date.now());
  }

  #tick(): void {
    if (!this.#running || !this.#ctx.isLeader()) return;
    const now = Date.now();
    const lossDue = this.#auditor.nextDueMs(this.#lastAuditStartMs);
    if (lossDue !== undefined && lossDue <= now) this.#auditDueMs = now;
    if (now - this.#lastAuditStartMs >= this.#ctx.config.auditIntervalMs) this.#auditDueMs = now;
    if (this.#auditDueMs && this.#auditDueMs <= now && !this.#auditing) {
      this.#auditDueMs = 0;
      this.#lastAuditStartMs = now;
      this.#auditing = this.#auditor
        .auditAll(now)
        .catch((err: unknown) => {
          this.#lastError = (err as Error).message;
          this.#auditDueMs = Date.now() + this.#ctx.config.rereplicationRetryDelayMs;
          this.#ctx.log.warn({ err: this.#lastError }, 'audit failed');
        })
        .finally(() => {
          this.#auditing = undefined;
        });
    }
    this.#pump();
    const avail = this.#auditor.availability(now);
    const lost = [...this.#auditor.lostSince.keys()].filter((b) => isMissing(b, avail)).length;
    this.#status.setGauges(this.#markerMap().size, lost + this.#bookieState().decommissioned.size);
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#timer);
    await this.#starting;
    await this.#replicator?.stop();
    await this.#auditing?.catch(() => undefined);
    await this.#bookies?.close();
    await this.#markers?.close();
    await this.#session?.close().catch(() => undefined);
    this.#session = undefined;
  }

  status(): unknown {
    const now = Date.now();
    const avail = this.#auditor.availability(now);
    const markers = [...this.#markerMap()].map(([ledgerId, e]) => {
      try {
        const m = fromBinary(UnderReplicated, e.value);
        return {
          ledgerId,
          missingBookies: m.missingBookies,
          markedAtMs: Number(m.markedAtMs),
          attempts: m.attempts,
          lastError: m.lastError || undefined,
        };
      } catch {
        return { ledgerId };
      }
    });
    return this.#status.toJSON({
      enabled: true,
      leader: this.#ctx.isLeader(),
      running: this.#running,
      lastError: this.#lastError,
      lastAudit: this.#auditor.lastAudit,
      lostBookies: [...this.#auditor.lostSince]
        .filter(([b]) => isMissing(b, avail))
        .map(([bookieId, sinceMs]) => ({ bookieId, sinceMs })),
      pendingBookies: [...this.#auditor.lostSince]
        .filter(([b]) => !isMissing(b, avail))
        .map(([bookieId, sinceMs]) => ({ bookieId, sinceMs })),
      decommissioned: [...this.#bookieState().decommissioned],
      underReplicated: markers.slice(0, this.#ctx.config.statusMaxLedgers),
      underReplicatedCount: markers.length,
    });
  }

  async close(): Promise<void> {
    await this.stop();
    await this.#access?.close();
  }
}
