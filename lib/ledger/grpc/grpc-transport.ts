/**
 * The BookieTransport over gRPC (proto/magnetar/bookie/v1/bookie.proto). Per bookie: one channel,
 * one pipelined AddStream carrying batches of adds (AddBatcher), and unary calls with deadlines for
 * reads, fencing, LAC and deletes. A broken stream fails every add in flight on it with
 * UNAVAILABLE (the sequencer then replaces the bookie); the next add opens a new stream. When the
 * registry gives a bookie a new address, its connection is replaced.
 */
import * as grpc from '@grpc/grpc-js';
import {
  BookieService,
  type FenceResponse,
  type ReadEntryResponse,
  type ReadLacResponse,
  type ReadRangeResponse,
} from '../../gen/magnetar/bookie/v1/bookie_pb.ts';
import { channelOptions, toGrpcServiceDefinition } from '../../grpc/adapter.ts';
import {
  type AddRequest,
  type BookieTransport,
  type LacReplyMsg,
  type ReadEntryReply,
  type ReadEntryRequest,
  type ReadLacRequest,
  type ReadRangeReply,
  type ReadRangeRequest,
  type ReplyStatus,
  TransportStatus,
} from '../driver/transport.ts';
import type { LedgerLimits } from '../limits.ts';
import { AddBatcher } from './add-batcher.ts';
import {
  type AddEntryFields,
  type AddResultFields,
  decodeAddStreamResponse,
  encodeAddStreamRequest,
} from './add-stream-codec.ts';

/** The generated service, with AddStream (de)serialized by the hand-rolled codec. */
const BookieClient = (() => {
  const generated = toGrpcServiceDefinition(BookieService);
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {
    ...generated,
    addStream: {
      ...generated.addStream,
      requestSerialize: (bytes: unknown) => bytes as Buffer,
      responseDeserialize: (bytes: Buffer) => decodeAddStreamResponse(bytes),
    },
  };
  return grpc.makeGenericClientConstructor(def, BookieService.name);
})();
type AddStream = grpc.ClientDuplexStream<Buffer, AddResultFields[]>;
type Unary<Req, Res> = (
  req: Req,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res?: Res) => void,
) => void;

export interface GrpcTransportOptions {
  /** host:port of a bookie, from the registry; undefined when it is not registered. */
  readonly resolve: (bookieId: string) => string | undefined;
  readonly limits: Pick<LedgerLimits, 'addBatchCountMax' | 'addBatchBytesMax' | 'grpcMessageBytesMax'>;
}

/** Everything toward one bookie address. */
class Connection {
  readonly address: string;
  readonly client: grpc.Client;
  readonly #batcher: AddBatcher<AddEntryFields>;
  readonly #inflight = new Map<number, (s: ReplyStatus) => void>();
  #stream: AddStream | undefined;
  #nextRequestId = 1;
  readonly stats: TransportStats;

  constructor(address: string, o: GrpcTransportOptions, stats: TransportStats) {
    this.address = address;
    this.stats = stats;
    this.client = new BookieClient(
      address,
      grpc.credentials.createInsecure(),
      channelOptions(o.limits.grpcMessageBytesMax),
    );
    this.#batcher = new AddBatcher<AddEntryFields>({
      countMax: o.limits.addBatchCountMax,
      bytesMax: o.limits.addBatchBytesMax,
      nextTick: (fn) => setImmediate(fn),
      send: (entries) => this.#write(entries),
    });
  }

  add(req: AddRequest, cb: (s: ReplyStatus) => void): void {
    const requestId = this.#nextRequestId++;
    this.#inflight.set(requestId, cb);
    const entry: AddEntryFields = {
      requestId,
      ledgerId: req.ledgerId,
      entryId: req.entryId,
      masterKey: req.masterKey,
      body: req.body,
      recovery: req.recovery,
    };
    this.#batcher.add(entry, req.body.byteLength);
  }

  #write(entries: AddEntryFields[]): void {
    this.stats.addMessages++;
    this.stats.addEntries += entries.length;
    const stream = this.#stream ?? this.#open();
    stream.write(encodeAddStreamRequest(entries));
  }

  #open(): AddStream {
    const stream = (this.client as unknown as { addStream(): AddStream }).addStream();
    this.#stream = stream;
    stream.on('data', (results: AddResultFields[]) => {
      for (const r of results) {
        const cb = this.#inflight.get(r.requestId);
        if (cb === undefined) continue;
        this.#inflight.delete(r.requestId);
        cb(r.status as ReplyStatus);
      }
    });
    const broken = () => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      this.#failInflight();
    };
    stream.on('error', broken);
    stream.on('end', broken);
    stream.on('close', broken);
    return stream;
  }

  #failInflight(): void {
    const cbs = [...this.#inflight.values()];
    this.#inflight.clear();
    this.#batcher.drain();
    for (const cb of cbs) cb(TransportStatus.UNAVAILABLE);
  }

  close(): void {
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.cancel();
    this.#failInflight();
    this.client.close();
  }
}

/** Counters over all bookies: adds leave in `addMessages` AddStream messages. */
export interface TransportStats {
  addMessages: number;
  addEntries: number;
}

export class GrpcBookieTransport implements BookieTransport {
  readonly stats: TransportStats = { addMessages: 0, addEntries: 0 };
  readonly #o: GrpcTransportOptions;
  readonly #connections = new Map<string, Connection>();
  #closed = false;

  constructor(o: GrpcTransportOptions) {
    this.#o = o;
  }

  #connection(bookieId: string): Connection | undefined {
    if (this.#closed) return undefined;
    const address = this.#o.resolve(bookieId);
    if (address === undefined) return undefined;
    let c = this.#connections.get(bookieId);
    if (c && c.address !== address) {
      c.close();
      c = undefined;
    }
    if (!c) {
      c = new Connection(address, this.#o, this.stats);
      this.#connections.set(bookieId, c);
    }
    return c;
  }

  add(bookieId: string, req: AddRequest, cb: (status: ReplyStatus) => void): void {
    const c = this.#connection(bookieId);
    if (!c) setImmediate(() => cb(TransportStatus.UNAVAILABLE));
    else c.add(req, cb);
  }

  /** A unary call with a deadline; transport failures become UNAVAILABLE / TIMEOUT replies. */
  #unary<Req, Res, R>(
    bookieId: string,
    method: string,
    req: Req,
    timeoutMs: number,
    ok: (res: Res) => R,
    failed: (s: ReplyStatus) => R,
    cb: (r: R) => void,
  ): void {
    const c = this.#connection(bookieId);
    if (!c) {
      setImmediate(() => cb(failed(TransportStatus.UNAVAILABLE)));
      return;
    }
    const call = (c.client as unknown as Record<string, Unary<Req, Res>>)[method].bind(c.client);
    call(req, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err || res === undefined) {
        cb(
          failed(
            err?.code === grpc.status.DEADLINE_EXCEEDED
              ? TransportStatus.TIMEOUT
              : TransportStatus.UNAVAILABLE,
          ),
        );
      } else {
        cb(ok(res));
      }
    });
  }

  readEntry(
    bookieId: string,
    req: ReadEntryRequest,
    timeoutMs: number,
    cb: (r: ReadEntryReply) => void,
  ): void {
    const msg = {
      ledgerId: BigInt(req.ledgerId),
      entryId: BigInt(req.entryId),
      fence: req.fence,
      masterKey: req.masterKey,
    };
    this.#unary<typeof msg, ReadEntryResponse, ReadEntryReply>(
      bookieId,
      'readEntry',
      msg,
      timeoutMs,
      (r) => ({ status: r.status, body: r.body, maxLac: Number(r.maxLac) }),
      (status) => ({ status }),
      cb,
    );
  }

  readRange(
    bookieId: string,
    req: ReadRangeRequest,
    timeoutMs: number,
    cb: (r: ReadRangeReply) => void,
  ): void {
    const msg = {
      ledgerId: BigInt(req.ledgerId),
      firstEntryId: BigInt(req.firstEntryId),
      maxEntries: req.maxEntries,
      maxBytes: req.maxBytes,
      stridePeriod: req.stride?.period ?? 0,
      strideRun: req.stride?.run ?? 0,
      firstRunPosition: req.stride?.position ?? 0,
    };
    this.#unary<typeof msg, ReadRangeResponse, ReadRangeReply>(
      bookieId,
      'readRange',
      msg,
      timeoutMs,
      (r) => ({ status: r.status, bodies: r.bodies, stopStatus: r.stopStatus }),
      (status) => ({ status, bodies: [], stopStatus: status }),
      cb,
    );
  }

  readLac(bookieId: string, req: ReadLacRequest, timeoutMs: number, cb: (r: LacReplyMsg) => void): void {
    const msg = {
      ledgerId: BigInt(req.ledgerId),
      previousLac: BigInt(req.previousLac),
      timeoutMs: Math.max(0, Math.floor(req.longPollMs)),
    };
    this.#unary<typeof msg, ReadLacResponse, LacReplyMsg>(
      bookieId,
      'readLac',
      msg,
      timeoutMs,
      (r) => ({ status: r.status, lac: Number(r.lac) }),
      (status) => ({ status, lac: -1 }),
      cb,
    );
  }

  fence(
    bookieId: string,
    req: { ledgerId: number; masterKey: Uint8Array },
    timeoutMs: number,
    cb: (r: LacReplyMsg) => void,
  ): void {
    const msg = { ledgerId: BigInt(req.ledgerId), masterKey: req.masterKey };
    this.#unary<typeof msg, FenceResponse, LacReplyMsg>(
      bookieId,
      'fence',
      msg,
      timeoutMs,
      (r) => ({ status: r.status, lac: Number(r.lac) }),
      (status) => ({ status, lac: -1 }),
      cb,
    );
  }

  deleteLedger(
    bookieId: string,
    ledgerId: number,
    timeoutMs: number,
    cb: (status: ReplyStatus) => void,
  ): void {
    this.#unary<{ ledgerId: bigint }, { status: ReplyStatus }, ReplyStatus>(
      bookieId,
      'deleteLedger',
      { ledgerId: BigInt(ledgerId) },
      timeoutMs,
      (r) => r.status,
      (s) => s,
      cb,
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }
}
