/**
 * The AddStream call: a client pipelines messages of many entries; each message's entries are
 * validated, admitted and copied into the journal together, and one commit callback per message
 * answers them once the journal group holding them is fsynced. Results of messages completing
 * in the same group go out in one response message.
 *
 * Bounds: at most `maxEntriesPerAddMessage` per message; a stream stops being read while
 * `maxInFlightAddBytesPerStream` bytes await their fsync or while its responses are not being
 * read; a message waits at most `writeCacheMaxWaitMs` for write-cache room, then its entries get
 * TOO_MANY_REQUESTS. Nothing a client sends can throw out of this handler.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { Status } from '../../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { BookieErrors, statusName, statusOf } from '../errors.ts';
import { type AddOutcome, encodeAddResults, type WireAddBatch } from './add-codec.ts';
import type { ServerContext } from './context.ts';
import { validateAdd } from './validate.ts';

type Result = AddOutcome;
type Call = ServerDuplexStream<WireAddBatch, Buffer>;

export function handleAddStream(ctx: ServerContext, call: Call): void {
  new AddStream(ctx, call).start();
}

class AddStream {
  readonly #ctx: ServerContext;
  readonly #call: Call;
  readonly #queue: WireAddBatch[] = [];
  #busy = false;
  /** Reading is paused: waiting for write-cache room or for a limbo check of the next message. */
  #waiting = false;
  #inFlightBytes = 0;
  #inFlightMessages = 0;
  #out: Result[] = [];
  #flushScheduled = false;
  #ended = false;
  #dead = false;
  #blockedOnWrite = false;

  constructor(ctx: ServerContext, call: Call) {
    this.#ctx = ctx;
    this.#call = call;
  }

  start(): void {
    this.#ctx.streams.add(this);
    this.#call.on('data', (req: WireAddBatch) => {
      this.#queue.push(req);
      this.#drain();
    });
    this.#call.on('end', () => {
      this.#ended = true;
      this.#maybeFinish();
    });
    const gone = () => {
      this.#dead = true;
      this.#ctx.streams.delete(this);
    };
    this.#call.on('error', gone);
    this.#call.on('cancelled', gone);
    this.#call.on('close', gone);
  }

  /** Bookie shutdown: stop reading; answer what is pending; then end the stream. */
  shutdown(): void {
    this.#ended = true;
    this.#drain();
    this.#maybeFinish();
  }

  #drain(): void {
    if (this.#busy || this.#waiting) return;
    this.#busy = true;
    try {
      while (this.#queue.length > 0 && !this.#dead) {
        const req = this.#queue[0];
        const bytes = messageBytes(req);
        if (!this.#ctx.closing && !this.#ctx.storage.hasRoom(bytes)) {
          this.#waitForRoom(bytes);
          break;
        }
        const check = this.#ctx.closing ? undefined : this.#ctx.storage.limboCheck(req.entries);
        if (check) {
          this.#waitForLimboCheck(check);
          break;
        }
        this.#queue.shift();
        this.#process(req, false);
      }
    } finally {
      this.#busy = false;
    }
    this.#applyBackpressure();
  }

  /** The write cache is full: stop reading until a checkpoint frees room (or give up). */
  #waitForRoom(bytes: number): void {
    this.#waiting = true;
    void this.#ctx.storage.waitForRoom(bytes, this.#ctx.cfg.writeCacheMaxWaitMs).then((ok) => {
      this.#waiting = false;
      if (!ok) {
        const req = this.#queue.shift();
        if (req) this.#process(req, true);
      }
      this.#drain();
      this.#maybeFinish();
    });
  }

  /** Normal adds to ledgers in limbo: their metadata is read first (storage.limboCheck). */
  #waitForLimboCheck(check: Promise<void>): void {
    this.#waiting = true;
    void check.then(() => {
      this.#waiting = false;
      this.#drain();
      this.#maybeFinish();
    });
  }

  #applyBackpressure(): void {
    const over =
      this.#waiting ||
      this.#blockedOnWrite ||
      this.#inFlightBytes > this.#ctx.cfg.maxInFlightAddBytesPerStream;
    if (over) this.#call.pause();
    else if (!this.#ended) this.#call.resume();
  }

  /** Validate, admit and journal one message's entries; answer them after the fsync. */
  #process(req: WireAddBatch, noRoom: boolean): void {
    const t0 = performance.now();
    const { storage, cfg, disk, metrics } = this.#ctx;
    const { entries, buf: src } = req;
    const results: Result[] = new Array(entries.length);
    const accepted: { i: number; ledgerId: number; entryId: number; copy: Buffer }[] = [];
    const refuseAll = (err: unknown) => {
      const status = statusOf(err);
      for (let i = 0; i < entries.length; i++) results[i] ??= { src, e: entries[i], status };
    };
    if (this.#ctx.closing) refuseAll(BookieErrors.make('BOOKIE_SHUTTING_DOWN'));
    else if (noRoom)
      refuseAll(BookieErrors.make('BOOKIE_TOO_MANY_REQUESTS', { bound: 'writeCacheMaxBytes' }));
    else if (entries.length > cfg.maxEntriesPerAddMessage) {
      refuseAll(BookieErrors.make('BOOKIE_BAD_REQUEST', { why: 'too many entries in one message' }));
    } else {
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        try {
          validateAdd(e, src, cfg);
          if (disk.readOnly && !e.recovery) {
            throw BookieErrors.make('BOOKIE_READ_ONLY', { usage: disk.last.usage.toFixed(3) });
          }
          storage.admitAdd(e.ledgerId, e.masterKey, e.recovery);
          accepted.push({ i, ledgerId: e.ledgerId, entryId: e.entryId, copy: storage.appendEntry(e.body) });
        } catch (err) {
          results[i] = { src, e, status: statusOf(err) };
        }
      }
    }
    let bytes = 0;
    for (const a of accepted) bytes += a.copy.length;
    this.#inFlightBytes += bytes;
    this.#inFlightMessages++;
    metrics.addBatchEntries.observe(entries.length);
    storage.journal.commit((err) => {
      for (const a of accepted) {
        if (err) storage.abandonAdd(a.copy);
        else storage.applyAdd(a.ledgerId, a.entryId, a.copy);
        results[a.i] = { src, e: entries[a.i], status: err ? statusOf(err) : Status.OK };
      }
      this.#inFlightBytes -= bytes;
      this.#inFlightMessages--;
      this.#count(results, err ? 0 : bytes);
      metrics.addLatency.observe((performance.now() - t0) / 1000);
      this.#send(results);
    });
  }

  #count(results: Result[], bytes: number): void {
    const byStatus = new Map<number, number>();
    for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    for (const [s, n] of byStatus) this.#ctx.metrics.addEntries.inc({ status: statusName(s as Status) }, n);
    if (bytes > 0) this.#ctx.metrics.addBytes.inc(bytes);
  }

  #send(results: Result[]): void {
    for (const r of results) this.#out.push(r);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      const out = this.#out;
      this.#out = [];
      if (!this.#dead && out.length > 0) {
        try {
          const ok = this.#call.write(encodeAddResults(out));
          if (!ok && !this.#blockedOnWrite) {
            this.#blockedOnWrite = true;
            this.#call.once('drain', () => {
              this.#blockedOnWrite = false;
              this.#drain();
            });
          }
        } catch (err) {
          this.#ctx.log.debug({ err }, 'add stream write failed');
          this.#dead = true;
        }
      }
      this.#drain();
      this.#maybeFinish();
    });
  }

  #maybeFinish(): void {
    if (!this.#ended || this.#inFlightMessages > 0 || this.#flushScheduled) return;
    if (this.#queue.length > 0 || this.#waiting) return;
    this.#ctx.streams.delete(this);
    if (this.#dead) return;
    this.#dead = true;
    try {
      this.#call.end();
    } catch {
      /* the client is gone */
    }
  }
}

function messageBytes(req: WireAddBatch): number {
  let n = 0;
  for (const e of req.entries) n += e.body.byteLength;
  return n;
}
