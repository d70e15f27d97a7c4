/**
 * A simulated bookie with the durability model the protocol relies on (internals.md §1.8, §2.2):
 * - adds and fence records go to a journal and are answered only after a (group-committed) fsync;
 *   a crash loses the unsynced tail, never an answered add or fence;
 * - a fenced ledger refuses normal adds (FENCED) and accepts recovery adds;
 * - a wiped disk (the fault atlas allows at most Qa − 1 copies of any entry to be destroyed) puts
 *   every ledger that existed in limbo: fenced, and "unknown" — never "no such entry" — for what
 *   it does not hold (Vanlightly/bookkeeper-tlaplus LIMBO_README);
 * - read-only mode refuses normal adds (READ_ONLY) and keeps serving reads.
 */
import { Status } from '../../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { readEnvelopeHeader, verifyEnvelope } from '../../../lib/ledger/envelope.ts';
import type {
  AddRequest,
  LacReplyMsg,
  ReadEntryReply,
  RangeStride,
  ReadRangeReply,
  ReplyStatus,
} from '../../../lib/ledger/driver/transport.ts';
import { SimNode } from './network.ts';
import type { Rng } from './rng.ts';
import type { Scheduler, SimTimer } from './scheduler.ts';

interface LedgerState {
  entries: Map<number, Uint8Array>;
  fenced: boolean;
  masterKey: Uint8Array | undefined;
  lac: number;
}

type JournalRecord =
  | { kind: 'add'; req: AddRequest; reply: (s: ReplyStatus) => void }
  | { kind: 'fence'; ledgerId: number; masterKey: Uint8Array; reply: () => void };

interface LacWaiter {
  ledgerId: number;
  previous: number;
  reply: (r: LacReplyMsg) => void;
  timer: SimTimer;
}

export class SimBookie extends SimNode {
  readOnly = false;
  /**
   * Limbo ledgers refuse normal adds (BookKeeper fences the ledgers it puts in limbo). Tests turn
   * it off to show why a bookie must: a wiped bookie forgets its fences.
   */
  limboFencesAdds = true;
  /** Ledgers this bookie may have lost data of (set by a disk wipe): fenced, and "unknown". */
  readonly limbo = new Set<number>();
  /** What survives a crash. */
  #disk = new Map<number, LedgerState>();
  /** What the bookie serves (disk plus fences taken in memory but not yet synced). */
  #mem = new Map<number, LedgerState>();
  #journal: JournalRecord[] = [];
  #syncTimer: SimTimer | undefined;
  #waiters = new Set<LacWaiter>();
  readonly #sched: Scheduler;
  readonly #rng: Rng;
  readonly #fsyncMaxMs: number;

  constructor(id: string, sched: Scheduler, rng: Rng, fsyncMaxMs: number) {
    super(id);
    this.#sched = sched;
    this.#rng = rng;
    this.#fsyncMaxMs = fsyncMaxMs;
  }

  /** Entries held durably, per ledger (for the fault atlas and checks). */
  durableEntries(ledgerId: number): number[] {
    return [...(this.#disk.get(ledgerId)?.entries.keys() ?? [])];
  }

  durableLedgers(): number[] {
    return [...this.#disk.keys()];
  }

  override crash(): void {
    super.crash();
    this.#journal = [];
    this.#syncTimer?.cancel();
    this.#syncTimer = undefined;
    for (const w of this.#waiters) w.timer.cancel();
    this.#waiters.clear();
    this.#mem = cloneLedgers(this.#disk);
  }

  /**
   * Lose the disk. Like BookKeeper's data integrity check at restart, the ledgers whose metadata
   * names this bookie (`memberOf`) go into limbo: the bookie cannot know what it held of them.
   */
  wipe(memberOf: Iterable<number>): void {
    this.crash();
    this.#disk = new Map();
    this.#mem = new Map();
    for (const id of memberOf) this.limbo.add(id);
  }

  #inLimbo(ledgerId: number): boolean {
    return this.limbo.has(ledgerId);
  }

  #ledger(ledgerId: number, masterKey: Uint8Array): LedgerState {
    let l = this.#mem.get(ledgerId);
    if (!l) {
      l = { entries: new Map(), fenced: this.limboFencesAdds && this.#inLimbo(ledgerId), masterKey, lac: -1 };
      this.#mem.set(ledgerId, l);
    }
    return l;
  }

  handleAdd(req: AddRequest, reply: (s: ReplyStatus) => void): void {
    const refused = this.#refuseAdd(req);
    if (refused === undefined) this.#append({ kind: 'add', req, reply });
    else reply(refused);
  }

  #refuseAdd(req: AddRequest): ReplyStatus | undefined {
    const header = readEnvelopeHeader(req.body);
    if (verifyEnvelope(req.body)) return Status.DIGEST_MISMATCH;
    if (!header || header.ledgerId !== req.ledgerId || header.entryId !== req.entryId)
      return Status.BAD_REQUEST;
    const existing = this.#mem.get(req.ledgerId);
    if (existing?.masterKey && !sameBytes(existing.masterKey, req.masterKey)) return Status.UNAUTHORIZED;
    if (req.recovery) return undefined;
    if (this.readOnly) return Status.READ_ONLY;
    if (existing?.fenced || (this.limboFencesAdds && this.#inLimbo(req.ledgerId))) return Status.FENCED;
    return undefined;
  }

  /** Fence `ledgerId` (in memory now, durably at the next sync), then call `after`. */
  #fence(ledgerId: number, masterKey: Uint8Array, after: () => void): ReplyStatus | undefined {
    const l = this.#mem.get(ledgerId);
    if (l?.masterKey && !sameBytes(l.masterKey, masterKey)) return Status.UNAUTHORIZED;
    this.#ledger(ledgerId, masterKey).fenced = true;
    this.#append({ kind: 'fence', ledgerId, masterKey, reply: after });
    return undefined;
  }

  handleFence(ledgerId: number, masterKey: Uint8Array, reply: (r: LacReplyMsg) => void): void {
    const refused = this.#fence(ledgerId, masterKey, () => {
      const l = this.#mem.get(ledgerId);
      const status = this.#inLimbo(ledgerId) ? Status.UNKNOWN_LEDGER_STATE : Status.OK;
      reply({ status, lac: l?.lac ?? -1 });
    });
    if (refused !== undefined) reply({ status: refused, lac: -1 });
  }

  handleRead(
    ledgerId: number,
    entryId: number,
    fence: boolean,
    masterKey: Uint8Array,
    reply: (r: ReadEntryReply) => void,
  ): void {
    const answer = () => reply(this.#readNow(ledgerId, entryId));
    if (!fence) {
      answer();
      return;
    }
    const refused = this.#fence(ledgerId, masterKey, answer);
    if (refused !== undefined) reply({ status: refused });
  }

  #readNow(ledgerId: number, entryId: number): ReadEntryReply {
    const l = this.#mem.get(ledgerId);
    const body = l?.entries.get(entryId);
    if (body) return { status: Status.OK, body, maxLac: l!.lac };
    if (this.#inLimbo(ledgerId)) return { status: Status.UNKNOWN_LEDGER_STATE };
    return { status: l ? Status.NO_ENTRY : Status.NO_LEDGER };
  }

  /**
   * ReadRange with the real bookie's semantics (services/bookie/storage/reader.ts readRange):
   * entries first.. in order, or with a stride only e >= first with
   * (e − first + position) mod period < run; stops at the first selected entry missing (never
   * skipping one), at maxEntries selected entries, or before going over maxBytes (at least one).
   */
  handleReadRange(
    ledgerId: number,
    first: number,
    maxEntries: number,
    maxBytes: number,
    stride: RangeStride | undefined,
    reply: (r: ReadRangeReply) => void,
  ): void {
    if (stride && !(stride.run >= 1 && stride.run <= stride.period && stride.position < stride.run)) {
      reply({ status: Status.BAD_REQUEST, bodies: [], stopStatus: Status.BAD_REQUEST });
      return;
    }
    const bodies: Uint8Array[] = [];
    let bytes = 0;
    let stop: ReplyStatus = Status.OK;
    for (let e = first; bodies.length < maxEntries; e = nextSelected(e, first, stride)) {
      const r = this.#readNow(ledgerId, e);
      if (r.status !== Status.OK) {
        stop = r.status;
        break;
      }
      if (bodies.length > 0 && bytes + r.body!.length > maxBytes) break;
      bodies.push(r.body!);
      bytes += r.body!.length;
    }
    reply({ status: bodies.length > 0 ? Status.OK : stop, bodies, stopStatus: stop });
  }

  /** Test hook: forget one entry (a replica missing an entry in the middle of a stride). */
  dropEntry(ledgerId: number, entryId: number): void {
    this.#mem.get(ledgerId)?.entries.delete(entryId);
    this.#disk.get(ledgerId)?.entries.delete(entryId);
  }

  handleReadLac(
    ledgerId: number,
    previous: number,
    longPollMs: number,
    reply: (r: LacReplyMsg) => void,
  ): void {
    const l = this.#mem.get(ledgerId);
    const lac = l?.lac ?? -1;
    if (longPollMs <= 0 || lac > previous) {
      reply({
        status: l ? Status.OK : this.#inLimbo(ledgerId) ? Status.UNKNOWN_LEDGER_STATE : Status.NO_LEDGER,
        lac,
      });
      return;
    }
    const w: LacWaiter = {
      ledgerId,
      previous,
      reply,
      timer: this.#sched.schedule(longPollMs, () => {
        this.#waiters.delete(w);
        reply({ status: Status.TIMEOUT, lac: this.#mem.get(ledgerId)?.lac ?? -1 });
      }),
    };
    this.#waiters.add(w);
  }

  handleDelete(ledgerId: number): ReplyStatus {
    this.#mem.delete(ledgerId);
    this.#disk.delete(ledgerId);
    return Status.OK;
  }

  #append(rec: JournalRecord): void {
    this.#journal.push(rec);
    if (this.#syncTimer) return;
    this.#syncTimer = this.#sched.schedule(0.2 + this.#rng.next() * this.#fsyncMaxMs, () => this.#sync());
  }

  /** The group commit: everything journaled so far becomes durable, then gets its answer. */
  #sync(): void {
    this.#syncTimer = undefined;
    const batch = this.#journal;
    this.#journal = [];
    for (const rec of batch) {
      if (rec.kind === 'add') {
        const { req } = rec;
        for (const target of [this.#disk, this.#mem]) {
          const l = getOrCreate(
            target,
            req.ledgerId,
            req.masterKey,
            this.limboFencesAdds && this.#inLimbo(req.ledgerId),
          );
          l.entries.set(req.entryId, req.body);
          l.lac = Math.max(l.lac, readEnvelopeHeader(req.body)!.lastAddConfirmed);
        }
      } else {
        getOrCreate(this.#disk, rec.ledgerId, rec.masterKey, true).fenced = true;
      }
    }
    for (const rec of batch) rec.reply(Status.OK);
    this.#wakeWaiters();
  }

  #wakeWaiters(): void {
    for (const w of [...this.#waiters]) {
      const lac = this.#mem.get(w.ledgerId)?.lac ?? -1;
      if (lac > w.previous) {
        w.timer.cancel();
        this.#waiters.delete(w);
        w.reply({ status: Status.OK, lac });
      }
    }
  }
}

function getOrCreate(
  m: Map<number, LedgerState>,
  ledgerId: number,
  masterKey: Uint8Array,
  fenced: boolean,
): LedgerState {
  let l = m.get(ledgerId);
  if (!l) {
    l = { entries: new Map(), fenced, masterKey, lac: -1 };
    m.set(ledgerId, l);
  }
  return l;
}

function cloneLedgers(m: Map<number, LedgerState>): Map<number, LedgerState> {
  const out = new Map<number, LedgerState>();
  for (const [id, l] of m)
    out.set(id, { entries: new Map(l.entries), fenced: l.fenced, masterKey: l.masterKey, lac: l.lac });
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}

/** The entry a range selects after `e` (itself selected): e + 1, or the next run's first entry. */
function nextSelected(e: number, first: number, stride: RangeStride | undefined): number {
  if (!stride) return e + 1;
  const pos = (e - first + stride.position) % stride.period;
  return pos + 1 < stride.run ? e + 1 : e + stride.period - pos;
}
