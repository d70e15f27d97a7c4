/**
 * The auditor (internals.md §3, BookKeeper's Auditor): follows bookie registrations and
 * decommission marks, remembers since when each bookie named by a ledger has been gone, and scans
 * every ledger's metadata to mark the ones with a replica on a lost (gone longer than
 * `lostBookieRecoveryDelayMs`) or decommissioned bookie as under-replicated
 * (keys.underReplicatedLedger, value UnderReplicatedLedger). Marking is idempotent: an existing
 * marker keeps its time and gains the newly missing bookies.
 */
import { create } from '@bufbuild/protobuf';
import { decodeUnderReplicated, encodeUnderReplicated } from '../../../lib/cluster/codec.ts';
import { UnderReplicatedLedgerSchema } from '../../../lib/gen/magnetar/cluster/v1/cluster_pb.ts';
import { decodeMeta } from '../../../lib/ledger/protocol/metadata.ts';
import type { Logger } from '../../../lib/log/index.ts';
import { MetadataErrors } from '../../../lib/metadata/errors.ts';
import * as keys from '../../../lib/metadata/keys.ts';
import type { MetadataStore } from '../../../lib/metadata/store.ts';
import type { BookieAvailability } from './plan.ts';
import { missingBookies } from './plan.ts';

export interface AuditResult {
  readonly atMs: number;
  readonly scanned: number;
  readonly marked: number;
  readonly corrupt: number;
}

export interface BookieState {
  readonly registered: ReadonlySet<string>;
  readonly writable: ReadonlySet<string>;
  readonly decommissioned: ReadonlySet<string>;
}

export class Auditor {
  readonly #store: MetadataStore;
  readonly #cluster: string;
  readonly #delayMs: number;
  readonly #log: Logger;
  /** Bookie id → when it was first seen missing (unregistered). */
  readonly lostSince = new Map<string, number>();
  #bookies: BookieState = { registered: new Set(), writable: new Set(), decommissioned: new Set() };
  lastAudit: AuditResult | undefined;

  constructor(store: MetadataStore, cluster: string, lostBookieRecoveryDelayMs: number, log: Logger) {
    this.#store = store;
    this.#cluster = cluster;
    this.#delayMs = lostBookieRecoveryDelayMs;
    this.#log = log;
  }

  /** New registration state: bookies that came back are forgotten, newly gone ones timed. */
  updateBookies(state: BookieState, nowMs: number): void {
    const before = this.#bookies.registered;
    this.#bookies = state;
    for (const id of before)
      if (!state.registered.has(id) && !this.lostSince.has(id)) this.lostSince.set(id, nowMs);
    for (const id of state.registered) this.lostSince.delete(id);
  }

  availability(nowMs: number): BookieAvailability {
    const b = this.#bookies;
    return {
      registered: (id) => b.registered.has(id),
      decommissioned: (id) => b.decommissioned.has(id),
      writable: [...b.writable].filter((id) => !b.decommissioned.has(id)).sort(),
      recentlyGone: (id) => {
        if (b.registered.has(id)) return false;
        const since = this.lostSince.get(id);
        return since === undefined || nowMs - since < this.#delayMs;
      },
    };
  }

  /**
   * The earliest moment after `coveredUntilMs` (the start of the last audit) at which a gone
   * bookie passes the recovery delay, i.e. when another audit is due; undefined if none.
   */
  nextDueMs(coveredUntilMs: number): number | undefined {
    let due: number | undefined;
    for (const since of this.lostSince.values()) {
      const at = since + this.#delayMs;
      if (at > coveredUntilMs) due = Math.min(due ?? Number.POSITIVE_INFINITY, at);
    }
    return due;
  }

  /** Scan every ledger; mark the under-replicated ones. */
  async auditAll(nowMs: number): Promise<AuditResult> {
    const prefix = keys.ledgersPrefix(this.#cluster);
    let startAfter: string | undefined;
    let scanned = 0;
    let marked = 0;
    let corrupt = 0;
    for (;;) {
      const page = await this.#store.list(prefix, { startAfter });
      for (const e of page.entries) {
        const parsed = keys.parseLedgerKey(e.key);
        if (!parsed) continue;
        scanned++;
        let missing: string[];
        try {
          const meta = decodeMeta(e.value, parsed.ledgerId);
          // Bookies named by ledgers but never seen registered by this auditor start their delay now.
          for (const s of meta.segments)
            for (const b of s.bookieIds)
              if (!this.#bookies.registered.has(b) && !this.lostSince.has(b)) this.lostSince.set(b, nowMs);
          missing = missingBookies(meta, this.availability(nowMs));
        } catch (err) {
          corrupt++;
          this.#log.error(
            { ledgerId: parsed.ledgerId, err: (err as Error).message },
            'ledger metadata unreadable; not audited',
          );
          continue;
        }
        if (missing.length > 0 && (await this.mark(parsed.ledgerId, missing, nowMs))) marked++;
      }
      if (!page.more || page.entries.length === 0) break;
      startAfter = page.entries[page.entries.length - 1].key;
    }
    this.lastAudit = { atMs: nowMs, scanned, marked, corrupt };
    this.#log.info(this.lastAudit, 'ledger audit done');
    return this.lastAudit;
  }

  /** Create or extend the marker; true when something was written. */
  async mark(ledgerId: number, missing: readonly string[], nowMs: number): Promise<boolean> {
    const key = keys.underReplicatedLedger(this.#cluster, ledgerId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await this.#store.get(key);
      const prev = cur ? decodeUnderReplicated(cur.key, cur.value) : undefined;
      const all = [...new Set([...(prev?.missingBookies ?? []), ...missing])].sort();
      if (prev && all.length === prev.missingBookies.length) return false;
      const value = create(UnderReplicatedLedgerSchema, {
        missingBookies: all,
        markedAtMs: prev?.markedAtMs ?? BigInt(nowMs),
        reason: missing.some((b) => this.#bookies.decommissioned.has(b)) ? 'decommissioned' : 'lost',
        attempts: prev?.attempts ?? 0,
        lastError: prev?.lastError ?? '',
        lastAttemptAtMs: prev?.lastAttemptAtMs ?? 0n,
      });
      try {
        await this.#store.put(key, encodeUnderReplicated(value), {
          expectedVersion: cur?.version ?? 'absent',
        });
        this.#log.info({ ledgerId, missing: all }, 'ledger marked under-replicated');
        return true;
      } catch (err) {
        if (
          !MetadataErrors.is(err, 'BAD_VERSION') &&
          !MetadataErrors.is(err, 'KEY_EXISTS') &&
          !MetadataErrors.is(err, 'NO_SUCH_KEY')
        )
          throw err;
      }
    }
    return false;
  }
}
