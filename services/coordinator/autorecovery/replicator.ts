/**
 * Re-replication of under-replicated ledgers (internals.md §3, BookKeeper's ReplicationWorker),
 * run by the coordinator leader with at most `rereplicationConcurrency` ledgers at once. Per
 * ledger: take its lock (a key bound to this replica's session), plan from the current metadata
 * (plan.ts), fence the ledger first when its open last fragment outlived the grace period, copy
 * each sealed fragment's missing replica to a new bookie (lib/ledger/fragment-replicator.ts), then
 * CAS the metadata to name the new bookie. The marker is deleted when the ledger needs nothing.
 * Failures are recorded in the marker and retried after a delay.
 */
import { create } from '@bufbuild/protobuf';
import { decodeUnderReplicated, encodeUnderReplicated } from '../../../lib/cluster/codec.ts';
import { UnderReplicatedLedgerSchema } from '../../../lib/gen/magnetar/cluster/v1/cluster_pb.ts';
import type { LedgerMetaStore } from '../../../lib/ledger/driver/meta-store.ts';
import type { BookieTransport } from '../../../lib/ledger/driver/transport.ts';
import { copyFragment } from '../../../lib/ledger/fragment-replicator.ts';
import type { LedgerMeta } from '../../../lib/ledger/protocol/metadata.ts';
import type { Logger } from '../../../lib/log/index.ts';
import { MetadataErrors } from '../../../lib/metadata/errors.ts';
import * as keys from '../../../lib/metadata/keys.ts';
import type { MetadataStore, Session } from '../../../lib/metadata/store.ts';
import type { CoordinatorConfig } from '../config.ts';
import { CoordinatorErrors } from '../errors.ts';
import { type BookieAvailability, type FragmentAction, planLedger, withReplacement } from './plan.ts';
import type { RecoveryStatus } from './status.ts';

export interface ReplicatorDeps {
  readonly store: MetadataStore;
  readonly cluster: string;
  readonly config: CoordinatorConfig;
  readonly log: Logger;
  readonly transport: BookieTransport;
  readonly ledgers: LedgerMetaStore;
  /** Fence (recover and close) a ledger: the ledger client's openLedger with recovery. */
  readonly fence: (ledgerId: number, password: Uint8Array) => Promise<void>;
  readonly availability: (nowMs: number) => BookieAvailability;
  readonly session: () => Session | undefined;
  readonly status: RecoveryStatus;
}

type Outcome = { kind: 'done' } | { kind: 'wait'; untilMs: number };

/** Passes per ledger run: each fixes one fragment replica or fences once; bounded by the fragment count. */
const extraPasses = 5;

export class Replicator {
  readonly #d: ReplicatorDeps;
  readonly #running = new Map<number, Promise<void>>();
  /** Ledger id → earliest next attempt. */
  readonly #notBefore = new Map<number, number>();
  #active = false;

  constructor(d: ReplicatorDeps) {
    this.#d = d;
  }

  start(): void {
    this.#active = true;
  }

  async stop(): Promise<void> {
    this.#active = false;
    await Promise.allSettled([...this.#running.values()]);
  }

  /** Start work on marked ledgers up to the concurrency bound; `marked` is the current marker set. */
  pump(
    marked: ReadonlyMap<number, { version: number; value: Uint8Array; key: string }>,
    nowMs: number,
  ): void {
    if (!this.#active) return;
    for (const id of this.#notBefore.keys()) if (!marked.has(id)) this.#notBefore.delete(id);
    for (const [ledgerId] of marked) {
      if (this.#running.size >= this.#d.config.rereplicationConcurrency) return;
      if (this.#running.has(ledgerId) || (this.#notBefore.get(ledgerId) ?? 0) > nowMs) continue;
      const run = this.#runLedger(ledgerId)
        .catch((err: unknown) => {
          // Taking the lock failed (store unreachable): try again later.
          this.#notBefore.set(ledgerId, Date.now() + this.#d.config.rereplicationRetryDelayMs);
          this.#d.log.warn({ ledgerId, err: (err as Error).message }, 'could not start re-replication');
        })
        .finally(() => this.#running.delete(ledgerId));
      this.#running.set(ledgerId, run);
    }
  }

  /** The earliest time a deferred ledger becomes due again. */
  nextDueMs(): number | undefined {
    let due: number | undefined;
    for (const t of this.#notBefore.values()) due = Math.min(due ?? Number.POSITIVE_INFINITY, t);
    return due;
  }

  async #runLedger(ledgerId: number): Promise<void> {
    const { store, cluster, log, status } = this.#d;
    const session = this.#d.session();
    if (!session?.alive) return;
    const lockKey = keys.underReplicationLock(cluster, ledgerId);
    try {
      await store.put(lockKey, new TextEncoder().encode(session.id), { expectedVersion: 'absent', session });
    } catch (err) {
      if (MetadataErrors.is(err, 'KEY_EXISTS')) return; // another worker holds it
      throw err;
    }
    status.started(ledgerId);
    try {
      const outcome = await this.#repair(ledgerId);
      if (outcome.kind === 'wait') {
        this.#notBefore.set(ledgerId, outcome.untilMs);
        status.waitingUntil(ledgerId, outcome.untilMs);
      } else {
        this.#notBefore.delete(ledgerId);
      }
    } catch (err) {
      const message = (err as Error).message;
      const attempts = await this.#recordFailure(ledgerId, message).catch(() => 0);
      const gaveUp = attempts >= this.#d.config.rereplicationMaxAttempts;
      status.failedAttempt(ledgerId, message, attempts, gaveUp);
      // Retry with a doubling delay, capped: failures are usually transient (a target or source
      // bookie that just died, a metadata race); past the attempt limit the ledger is reported
      // failed but still retried at the capped pace.
      const { rereplicationRetryDelayMs: base, rereplicationRetryMaxDelayMs: cap } = this.#d.config;
      const delay = Math.min(cap, base * 2 ** Math.min(20, Math.max(0, attempts - 1)));
      this.#notBefore.set(ledgerId, Date.now() + delay);
      log.warn({ ledgerId, err: message, attempts }, 're-replication failed; will retry');
    } finally {
      await store.delete(lockKey).catch(() => false);
    }
  }

  async #repair(ledgerId: number): Promise<Outcome> {
    const { store, cluster, ledgers, status, config } = this.#d;
    const markerKey = keys.underReplicatedLedger(cluster, ledgerId);
    const marker = await store.get(markerKey);
    if (!marker) {
      status.finished(ledgerId, false);
      return { kind: 'done' };
    }
    const markedAtMs = Number(decodeUnderReplicated(marker.key, marker.value).markedAtMs);
    let copied = false;
    let maxPasses = extraPasses;
    for (let pass = 0; pass < maxPasses; pass++) {
      if (!this.#active)
        throw CoordinatorErrors.make('NOT_LEADER', { coordinator: 'this replica', leader: 'unknown' });
      const read = await ledgers.read(ledgerId);
      if (!read) break; // deleted: nothing left to protect
      if (pass === 0) maxPasses += read.meta.segments.length * read.meta.ensembleSize;
      const now = Date.now();
      const actions = planLedger(read.meta, {
        ...this.#d.availability(now),
        markedAtMs,
        nowMs: now,
        openGraceMs: config.openLedgerRereplicationGraceMs,
      });
      if (actions.length === 0) break;
      const noTarget = actions.find((a) => a.kind === 'no-target');
      if (noTarget?.kind === 'no-target') {
        throw CoordinatorErrors.make('NO_REPLACEMENT_BOOKIE', {
          ensemble: read.meta.segments[noTarget.segmentIndex].bookieIds.join(','),
          bookie: noTarget.replaced,
          ledgerId,
        });
      }
      if (actions.some((a) => a.kind === 'fence')) {
        this.#d.log.info({ ledgerId }, 'fencing open ledger whose last fragment lost a replica');
        await this.#d.fence(ledgerId, read.meta.password);
        continue;
      }
      const copies = actions.filter((a): a is Extract<FragmentAction, { kind: 'copy' }> => a.kind === 'copy');
      if (copies.length === 0) {
        const wait = actions.find((a) => a.kind === 'wait-open');
        return {
          kind: 'wait',
          untilMs: wait?.kind === 'wait-open' ? wait.untilMs : now + config.rereplicationRetryDelayMs,
        };
      }
      status.planned(ledgerId, copies.length);
      const a = copies[0];
      await this.#copy(ledgerId, read.meta, a);
      copied = true;
    }
    const again = await ledgers.read(ledgerId);
    if (again) {
      const now = Date.now();
      const left = planLedger(again.meta, {
        ...this.#d.availability(now),
        markedAtMs,
        nowMs: now,
        openGraceMs: config.openLedgerRereplicationGraceMs,
      });
      if (left.length > 0)
        throw CoordinatorErrors.make('LEDGER_METADATA_CONFLICT', {
          ledgerId,
          why: `${left.length} fragments still need work after ${maxPasses} passes`,
        });
    }
    await store.delete(markerKey).catch(() => false);
    status.finished(ledgerId, copied);
    return { kind: 'done' };
  }

  async #copy(
    ledgerId: number,
    meta: LedgerMeta,
    a: Extract<FragmentAction, { kind: 'copy' }>,
  ): Promise<void> {
    const { transport, ledgers, config, status, log } = this.#d;
    const avail = this.#d.availability(Date.now());
    const ensemble = meta.segments[a.segmentIndex].bookieIds;
    const unavailable = new Set(ensemble.filter((b) => !avail.registered(b)));
    const result = await copyFragment(
      transport,
      {
        ledgerId,
        masterKey: meta.password,
        quorum: meta,
        ensemble,
        firstEntryId: a.first,
        lastEntryId: a.last,
        replaceIndex: a.replaceIndex,
        target: a.target,
        unavailable,
        readFromReplaced: avail.registered(a.replaced),
      },
      {
        batchEntries: config.fragmentCopyBatchEntries,
        batchBytes: config.fragmentCopyBatchBytes,
        requestTimeoutMs: 30_000,
        onProgress: (entries, bytes) => status.progress(ledgerId, entries, bytes),
      },
    );
    for (let attempt = 0; attempt < 10; attempt++) {
      const latest = await ledgers.read(ledgerId);
      if (!latest) return;
      const next = withReplacement(latest.meta, a);
      if (!next)
        throw CoordinatorErrors.make('LEDGER_METADATA_CONFLICT', {
          ledgerId,
          why: 'the fragment changed while it was copied',
        });
      try {
        await ledgers.write(next, latest.version);
        status.fragmentDone(ledgerId, result.entries, result.bytes, a.replaced, a.target);
        log.info(
          {
            ledgerId,
            segment: a.segmentIndex,
            from: a.replaced,
            to: a.target,
            entries: result.entries,
            bytes: result.bytes,
          },
          'fragment re-replicated',
        );
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== 'BAD_VERSION') throw err;
      }
    }
    throw CoordinatorErrors.make('LEDGER_METADATA_CONFLICT', {
      ledgerId,
      why: 'metadata CAS lost ten times',
    });
  }

  async #recordFailure(ledgerId: number, message: string): Promise<number> {
    const { store, cluster } = this.#d;
    const key = keys.underReplicatedLedger(cluster, ledgerId);
    const cur = await store.get(key);
    if (!cur) return 0;
    const prev = decodeUnderReplicated(cur.key, cur.value);
    const attempts = prev.attempts + 1;
    const value = create(UnderReplicatedLedgerSchema, {
      ...prev,
      attempts,
      lastError: message.slice(0, 2000),
      lastAttemptAtMs: BigInt(Date.now()),
    });
    await store.put(key, encodeUnderReplicated(value), { expectedVersion: cur.version });
    return attempts;
  }
}
