/**
 * The append pipeline of one managed ledger: appends queue in order and are sent to the current
 * ledger (entry/size roll bounds counted at send time); a roll or an add error switches ledgers
 * (wait until nothing is in flight → create the new ledger → CAS the list → seal the old one)
 * while new appends wait; then everything still queued is (re)sent, in order.
 */
import { assert } from '../../../lib/assert.ts';
import type { WritableLedger } from '../../../lib/ledger/api.ts';
import type { ManagedLedgerConfig, ManagedLedgerState, Position } from './api.ts';
import type { EntryCache } from './entry-cache.ts';
import { mlErrors } from './errors.ts';
import { type LedgerList, type LedgerRecord, rolloverDeadline, rolloverDecision } from './ledger-list.ts';
import { createDataLedger, type MlContext } from './ml-open.ts';

interface PendingAdd {
  readonly data: Uint8Array;
  resolve(p: Position): void;
  reject(err: unknown): void;
  settled: boolean;
}

/** What the pipeline needs from its managed ledger. */
export interface AppenderHost {
  readonly name: string;
  readonly config: ManagedLedgerConfig;
  readonly ctx: MlContext;
  readonly list: LedgerList;
  readonly cache: EntryCache;
  readonly state: ManagedLedgerState;
  /** terminate() running: appends already queued still get written. */
  readonly terminating: boolean;
  /** close()/delete() running: no new switch starts. */
  readonly closing: boolean;
  fence(err: unknown): void;
  updateList(
    build: (next: LedgerList) => { openLedgerId: number | undefined; changes: Record<string, never> },
    commit: () => void,
  ): Promise<void>;
  notifyWaiters(): void;
}

const isFencedLedgerError = (err: unknown) => (err as { retry?: string })?.retry === 'fenced';

export class Appender {
  private readonly host: AppenderHost;
  /** The ledger being written. */
  current: WritableLedger | undefined;
  /** Ledgers we stopped writing whose seal is in progress (still read through their writer). */
  private readonly sealing = new Map<number, { ledger: WritableLedger; done: Promise<void> }>();
  private currentCreatedMs = 0;
  private rollAtMs = 0;
  private rollNotBeforeMs = 0;
  /** Unconfirmed appends in order; the first `sentCount` were sent to the current ledger. */
  private readonly queue: PendingAdd[] = [];
  private sentCount = 0;
  /** Entries/bytes sent to the current ledger (rollover bounds hold exactly, not per confirm). */
  private sentEntries = 0;
  private sentBytes = 0;
  private pendingBytes = 0;
  private inflight = 0;
  private drained: (() => void)[] = [];
  private idle: (() => void)[] = [];
  private switching = false;
  private switchRun: Promise<void> | undefined;

  constructor(host: AppenderHost, current: WritableLedger | undefined) {
    this.host = host;
    this.current = current;
    if (current) this.startedLedger(host.ctx.now());
  }

  /** Appends queued or in flight. */
  get pending(): number {
    return this.queue.length;
  }

  /** Whether `size` more bytes fit the pending bounds. */
  hasRoom(size: number): boolean {
    const s = this.host.ctx.settings;
    return this.queue.length < s.maxPendingAppends && this.pendingBytes + size <= s.maxPendingAppendBytes;
  }

  /** The writer's handle of a ledger being written or sealed (reads go through it). */
  writerFor(ledgerId: number): WritableLedger | undefined {
    return this.current?.id === ledgerId ? this.current : this.sealing.get(ledgerId)?.ledger;
  }

  /** Resolves once no ledger switch is running. */
  async waitSwitch(): Promise<void> {
    while (this.switchRun) await this.switchRun;
  }

  /** A new current ledger started at `nowMs`. */
  startedLedger(nowMs: number): void {
    this.sentEntries = 0;
    this.sentBytes = 0;
    this.currentCreatedMs = nowMs;
    this.rollAtMs = rolloverDeadline(
      nowMs,
      this.host.config,
      this.host.ctx.settings.rolloverJitterFraction,
      this.host.ctx.random(),
    );
  }

  /** Queue an append (the managed ledger checked its state and the bounds). */
  append(data: Uint8Array): Promise<Position> {
    return new Promise<Position>((resolve, reject) => {
      const op: PendingAdd = { data, resolve, reject, settled: false };
      this.queue.push(op);
      this.pendingBytes += data.byteLength;
      if (this.switching) return;
      if (this.current) this.pump();
      else void this.switchLedger('no-ledger');
    });
  }

  /** True when sending one more entry would pass the entry/size bound of the current ledger. */
  private currentLedgerFull(nowMs: number): boolean {
    if (nowMs - this.currentCreatedMs < this.host.config.minLedgerRolloverTimeMs) return false;
    return (
      this.sentEntries >= this.host.config.maxEntriesPerLedger ||
      this.sentBytes >= this.host.config.maxSizePerLedgerBytes
    );
  }

  /** Send queued appends in order; when the current ledger is full, roll first. */
  private pump(): void {
    if (!this.current || this.switching || this.host.state !== 'Open' || this.host.closing) return;
    const now = this.host.ctx.now();
    while (this.sentCount < this.queue.length) {
      if (this.currentLedgerFull(now)) {
        void this.switchLedger('roll');
        return;
      }
      const op = this.queue[this.sentCount++];
      this.sentEntries++;
      this.sentBytes += op.data.byteLength;
      this.send(op);
    }
  }

  private send(op: PendingAdd): void {
    const ledger = this.current as WritableLedger;
    this.inflight++;
    ledger.append(op.data).then(
      (entryId) => this.onAdded(op, ledger, entryId),
      (err) => this.onAddFailed(op, err),
    );
  }

  private onAdded(op: PendingAdd, ledger: WritableLedger, entryId: number): void {
    this.inflight--;
    if (!op.settled) {
      assert(this.queue[0] === op, 'appends confirm in order', {
        name: this.host.name,
        ledgerId: ledger.id,
        entryId,
      });
      this.queue.shift();
      this.sentCount--;
      op.settled = true;
      this.pendingBytes -= op.data.byteLength;
      const rec = this.host.list.last;
      assert(rec && rec.ledgerId === ledger.id && rec.entries === entryId, 'entry ids are dense per ledger', {
        name: this.host.name,
        ledgerId: ledger.id,
        entryId,
        expected: rec?.entries,
      });
      rec.entries++;
      rec.sizeBytes += op.data.byteLength;
      const position = { ledgerId: ledger.id, entryId };
      this.host.cache.put(position, op.data);
      op.resolve(position);
      this.host.notifyWaiters();
    }
    this.checkDrained();
    this.checkRollover(this.host.ctx.now());
  }

  private onAddFailed(op: PendingAdd, err: unknown): void {
    this.inflight--;
    if (!op.settled) {
      if (isFencedLedgerError(err)) this.host.fence(err);
      else if (!this.switching) {
        this.host.ctx.log.warn({ err, name: this.host.name }, 'append failed; replacing the current ledger');
        void this.switchLedger('add-error');
      }
    }
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.inflight > 0) return;
    const waiting = this.drained;
    this.drained = [];
    for (const w of waiting) w();
    if (this.queue.length > 0 || this.switching) return;
    const idle = this.idle;
    this.idle = [];
    for (const w of idle) w();
  }

  /** Resolves once no append is in flight. */
  waitInflight(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Resolves once every queued append has settled and no switch runs. */
  waitIdle(): Promise<void> {
    if (this.inflight === 0 && this.queue.length === 0 && !this.switching) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Roll when full or old (called after adds and by the factory's timer). */
  checkRollover(nowMs: number): void {
    if (
      this.host.state !== 'Open' ||
      this.host.terminating ||
      this.host.closing ||
      this.switching ||
      !this.current
    )
      return;
    if (nowMs < this.rollNotBeforeMs) return;
    const rec = this.host.list.last;
    if (!rec) return;
    const decision = rolloverDecision(
      {
        entries: rec.entries,
        sizeBytes: rec.sizeBytes,
        createdMs: this.currentCreatedMs,
        rollAtMs: this.rollAtMs,
      },
      this.host.config,
      nowMs,
    );
    if (decision !== 'keep') void this.switchLedger('roll');
  }

  /**
   * Replace the current ledger: wait until nothing is in flight, create the new ledger, CAS the
   * list, then close the old one. Appends queue meanwhile and are (re)sent in order afterwards.
   */
  private switchLedger(reason: 'roll' | 'add-error' | 'no-ledger'): Promise<void> {
    if (this.switching || this.host.state !== 'Open' || this.host.closing)
      return this.switchRun ?? Promise.resolve();
    this.switching = true;
    const run = this.doSwitch(reason)
      .catch((err) =>
        this.host.ctx.log.error({ err, name: this.host.name, reason }, 'ledger switch failed unexpectedly'),
      )
      .finally(() => {
        if (this.switchRun === run) this.switchRun = undefined;
      });
    this.switchRun = run;
    return run;
  }

  private async doSwitch(reason: 'roll' | 'add-error' | 'no-ledger'): Promise<void> {
    try {
      await this.waitInflight();
      if (this.host.state !== 'Open' || this.host.closing) return;
      const old = this.current;
      if (reason !== 'roll') {
        // After an add error the old ledger is sealed at its last confirmed entry right away;
        // the failed appends go to the new ledger.
        this.current = undefined;
        this.retireLedger(old);
      }
      let fresh: WritableLedger;
      try {
        fresh = await createDataLedger(
          this.host.ctx,
          this.host.name,
          this.host.config,
          this.host.list.last?.ledgerId ?? -1,
        );
      } catch (err) {
        this.switchFailed(reason, err);
        return;
      }
      const now = this.host.ctx.now();
      let dropped: number | undefined;
      const freshRec = { ledgerId: fresh.id, entries: 0, sizeBytes: 0, timestampMs: now };
      try {
        await this.host.updateList(
          (next) => {
            const last = next.last as LedgerRecord;
            if (last.entries === 0) next.remove(new Set([last.ledgerId]));
            else last.timestampMs = now;
            next.append(freshRec);
            return { openLedgerId: fresh.id, changes: {} };
          },
          () => {
            // Nothing is in flight: the live last record is exactly the one written above.
            const last = this.host.list.last as LedgerRecord;
            if (last.entries === 0) {
              dropped = last.ledgerId;
              this.host.list.remove(new Set([last.ledgerId]));
            } else last.timestampMs = now;
            this.host.list.append(freshRec);
            this.current = fresh;
            this.startedLedger(now);
          },
        );
      } catch (err) {
        await this.host.ctx.client.deleteLedger(fresh.id).catch(() => undefined);
        if (this.host.state === 'Open') this.switchFailed(reason, err);
        return;
      }
      if (reason === 'roll') this.retireLedger(old);
      if (dropped !== undefined) this.deleteDroppedLedger(dropped);
      this.host.ctx.log.info({ name: this.host.name, reason, to: fresh.id, dropped }, 'ledger switched');
    } finally {
      // Nothing is in flight: whatever is still queued (new, or failed on the old ledger) is
      // sent again, in order, to the current ledger.
      this.switching = false;
      this.sentCount = 0;
      this.pump();
      this.host.notifyWaiters();
      this.checkDrained();
    }
  }

  private switchFailed(reason: string, err: unknown): void {
    this.host.ctx.log.warn({ err, name: this.host.name, reason }, 'could not switch to a new ledger');
    if (reason === 'roll') {
      // The current ledger still works: keep writing, retry the roll later.
      this.rollNotBeforeMs = this.host.ctx.now() + this.host.ctx.settings.retryBackoffMs * 32;
      return;
    }
    this.failQueue(
      mlErrors.make('APPEND_FAILED', { name: this.host.name, reason: (err as Error).message }, err),
    );
  }

  /** Seal a ledger we stopped writing (best effort: its count in the list is authoritative). */
  private retireLedger(ledger: WritableLedger | undefined): void {
    if (!ledger || this.sealing.has(ledger.id)) return;
    const done = ledger
      .close()
      .catch((err) =>
        this.host.ctx.log.warn({ err, name: this.host.name, ledgerId: ledger.id }, 'sealing a ledger failed'),
      )
      .finally(() => this.sealing.delete(ledger.id));
    this.sealing.set(ledger.id, { ledger, done });
  }

  /** Delete an empty ledger the list no longer names (after its seal, if one is running). */
  private deleteDroppedLedger(ledgerId: number): void {
    const sealing = this.sealing.get(ledgerId)?.done ?? Promise.resolve();
    void sealing
      .then(() => this.host.ctx.client.deleteLedger(ledgerId))
      .catch((err) =>
        this.host.ctx.log.warn({ err, name: this.host.name, ledgerId }, 'empty ledger not deleted (orphan)'),
      );
  }

  failQueue(err: unknown): void {
    const ops = this.queue.splice(0);
    this.pendingBytes = 0;
    this.sentCount = 0;
    for (const op of ops) {
      op.settled = true;
      op.reject(err);
    }
  }
}
