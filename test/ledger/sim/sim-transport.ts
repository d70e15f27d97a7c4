/**
 * The BookieTransport of one simulated client node: every request and answer crosses the
 * simulated network. Requests with a deadline answer TIMEOUT when it passes; a request to a
 * crashed bookie is refused (UNAVAILABLE); adds get no answer when lost (the sequencer times
 * them out), as on a hung connection.
 */

import {
  type BookieTransport,
  type LacReplyMsg,
  type ReadEntryReply,
  type ReadRangeReply,
  type ReplyStatus,
  TransportStatus,
} from '../../../lib/ledger/driver/transport.ts';
import type { SimNetwork, SimNode } from './network.ts';
import type { Scheduler } from './scheduler.ts';
import type { SimBookie } from './sim-bookie.ts';

export class SimTransport implements BookieTransport {
  readonly #node: SimNode;
  readonly #net: SimNetwork;
  readonly #sched: Scheduler;
  readonly #bookies: ReadonlyMap<string, SimBookie>;
  /** Counters for assertions on batching-independent behaviour. */
  readonly sent = { add: 0, read: 0, range: 0, fence: 0, readLac: 0 };

  constructor(node: SimNode, net: SimNetwork, sched: Scheduler, bookies: ReadonlyMap<string, SimBookie>) {
    this.#node = node;
    this.#net = net;
    this.#sched = sched;
    this.#bookies = bookies;
  }

  /** Send a request; `serve` runs at the bookie and answers through `respond`. */
  #call<R>(
    bookieId: string,
    what: string,
    timeoutMs: number | undefined,
    onTimeout: R,
    refusedValue: R,
    cb: (r: R) => void,
    serve: (b: SimBookie, respond: (r: R) => void) => void,
  ): void {
    const bookie = this.#bookies.get(bookieId);
    const life = this.#node.incarnation;
    let done = false;
    const finish = (r: R) => {
      if (done || !this.#node.alive || this.#node.incarnation !== life) return;
      done = true;
      timer?.cancel();
      cb(r);
    };
    const timer =
      timeoutMs === undefined ? undefined : this.#sched.schedule(timeoutMs, () => finish(onTimeout));
    if (!bookie) {
      this.#sched.schedule(this.#net.delayMs(), () => finish(refusedValue));
      return;
    }
    this.#net.send(
      this.#node,
      bookie,
      what,
      () => serve(bookie, (r) => this.#net.send(bookie, this.#node, `${what}-reply`, () => finish(r))),
      () => finish(refusedValue),
    );
  }

  add(bookieId: string, req: Parameters<BookieTransport['add']>[1], cb: (s: ReplyStatus) => void): void {
    this.sent.add++;
    this.#call<ReplyStatus>(
      bookieId,
      `add:${req.ledgerId}:${req.entryId}`,
      undefined,
      TransportStatus.TIMEOUT,
      TransportStatus.UNAVAILABLE,
      cb,
      (b, respond) => b.handleAdd(req, respond),
    );
  }

  readEntry(
    bookieId: string,
    req: Parameters<BookieTransport['readEntry']>[1],
    timeoutMs: number,
    cb: (r: ReadEntryReply) => void,
  ): void {
    this.sent.read++;
    const what = `${req.fence ? 'fread' : 'read'}:${req.ledgerId}:${req.entryId}`;
    this.#call<ReadEntryReply>(
      bookieId,
      what,
      timeoutMs,
      { status: TransportStatus.TIMEOUT },
      { status: TransportStatus.UNAVAILABLE },
      cb,
      (b, respond) => b.handleRead(req.ledgerId, req.entryId, req.fence, req.masterKey, respond),
    );
  }

  readRange(
    bookieId: string,
    req: Parameters<BookieTransport['readRange']>[1],
    timeoutMs: number,
    cb: (r: ReadRangeReply) => void,
  ): void {
    this.sent.range++;
    const failed = (status: ReplyStatus): ReadRangeReply => ({ status, bodies: [], stopStatus: status });
    this.#call<ReadRangeReply>(
      bookieId,
      `range:${req.ledgerId}:${req.firstEntryId}`,
      timeoutMs,
      failed(TransportStatus.TIMEOUT),
      failed(TransportStatus.UNAVAILABLE),
      cb,
      (b, respond) =>
        b.handleReadRange(req.ledgerId, req.firstEntryId, req.maxEntries, req.maxBytes, req.stride, respond),
    );
  }

  readLac(
    bookieId: string,
    req: Parameters<BookieTransport['readLac']>[1],
    timeoutMs: number,
    cb: (r: LacReplyMsg) => void,
  ): void {
    this.sent.readLac++;
    this.#call<LacReplyMsg>(
      bookieId,
      `lac:${req.ledgerId}`,
      timeoutMs,
      { status: TransportStatus.TIMEOUT, lac: -1 },
      { status: TransportStatus.UNAVAILABLE, lac: -1 },
      cb,
      (b, respond) => b.handleReadLac(req.ledgerId, req.previousLac, req.longPollMs, respond),
    );
  }

  fence(
    bookieId: string,
    req: { ledgerId: number; masterKey: Uint8Array },
    timeoutMs: number,
    cb: (r: LacReplyMsg) => void,
  ): void {
    this.sent.fence++;
    this.#call<LacReplyMsg>(
      bookieId,
      `fence:${req.ledgerId}`,
      timeoutMs,
      { status: TransportStatus.TIMEOUT, lac: -1 },
      { status: TransportStatus.UNAVAILABLE, lac: -1 },
      cb,
      (b, respond) => b.handleFence(req.ledgerId, req.masterKey, respond),
    );
  }

  deleteLedger(bookieId: string, ledgerId: number, timeoutMs: number, cb: (s: ReplyStatus) => void): void {
    this.#call<ReplyStatus>(
      bookieId,
      `delete:${ledgerId}`,
      timeoutMs,
      TransportStatus.TIMEOUT,
      TransportStatus.UNAVAILABLE,
      cb,
      (b, respond) => respond(b.handleDelete(ledgerId)),
    );
  }

  async close(): Promise<void> {}
}
