/**
 * A small gRPC client for bookie tests and benchmarks (the real quorum client is lib/ledger).
 * `AddSession` pipelines batches on one AddStream: `add(entries)` resolves with the results of
 * that batch, whatever responses they arrive in.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import {
  type AddEntry,
  AddEntrySchema,
  type AddResult,
  type AddStreamResponse,
  BookieService,
  type DeleteLedgerResponse,
  type FenceResponse,
  type GetBookieInfoResponse,
  type ListEntriesResponse,
  type ListLedgersResponse,
  type ReadEntryRequestSchema,
  type ReadEntryResponse,
  type ReadLacRequestSchema,
  type ReadLacResponse,
  type ReadRangeRequestSchema,
  type ReadRangeResponse,
} from '../../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { channelOptions, makeClientConstructor } from '../../../lib/grpc/adapter.ts';
import { encodeEnvelope } from '../../../lib/ledger/envelope.ts';

const Client = makeClientConstructor(BookieService);

export interface TestEntry {
  readonly ledgerId: number;
  readonly entryId: number;
  readonly payload?: Uint8Array;
  readonly body?: Uint8Array;
  readonly masterKey?: Uint8Array;
  readonly recovery?: boolean;
  readonly lac?: number;
}

/** The envelope the ledger client would send for this entry. */
export function envelopeFor(
  ledgerId: number,
  entryId: number,
  payload: Uint8Array,
  lac = entryId - 1,
): Buffer {
  return encodeEnvelope({ ledgerId, entryId, lastAddConfirmed: lac, length: 0 }, payload);
}

/** Deterministic payload for (ledger, entry), so tests can check reads byte for byte. */
export function payloadFor(ledgerId: number, entryId: number, bytes: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  let x = (ledgerId * 2654435761 + entryId * 40503 + 1) >>> 0;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

export const TEST_KEY = Buffer.from('test-master-key');

export class BookieTestClient {
  readonly raw: grpc.Client;

  constructor(address: string, maxMessageBytes = 64 * 1024 * 1024) {
    this.raw = new Client(address, grpc.credentials.createInsecure(), channelOptions(maxMessageBytes));
  }

  #unary<Res>(method: string, req: unknown, deadlineMs = 30_000): Promise<Res> {
    return new Promise((resolve, reject) => {
      (this.raw as unknown as Record<string, (...a: unknown[]) => void>)[method](
        req,
        { deadline: Date.now() + deadlineMs },
        (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)),
      );
    });
  }

  readEntry(req: MessageInitShape<typeof ReadEntryRequestSchema>): Promise<ReadEntryResponse> {
    return this.#unary('readEntry', req);
  }
  readRange(req: MessageInitShape<typeof ReadRangeRequestSchema>): Promise<ReadRangeResponse> {
    return this.#unary('readRange', req);
  }
  readLac(req: MessageInitShape<typeof ReadLacRequestSchema>, deadlineMs = 30_000): Promise<ReadLacResponse> {
    return this.#unary('readLac', req, deadlineMs);
  }
  fence(ledgerId: number, masterKey: Uint8Array = TEST_KEY): Promise<FenceResponse> {
    return this.#unary('fence', { ledgerId: BigInt(ledgerId), masterKey });
  }
  deleteLedger(ledgerId: number): Promise<DeleteLedgerResponse> {
    return this.#unary('deleteLedger', { ledgerId: BigInt(ledgerId) });
  }
  listLedgers(startAfter = -1, limit = 0): Promise<ListLedgersResponse> {
    return this.#unary('listLedgers', { startAfter: BigInt(startAfter), limit });
  }
  listEntries(ledgerId: number): Promise<ListEntriesResponse> {
    return this.#unary('listEntries', { ledgerId: BigInt(ledgerId) });
  }
  info(): Promise<GetBookieInfoResponse> {
    return this.#unary('getBookieInfo', {});
  }

  openAddSession(): AddSession {
    return new AddSession(this.raw);
  }

  close(): void {
    this.raw.close();
  }
}

interface Pending {
  remaining: number;
  readonly results: AddResult[];
  readonly resolve: (r: AddResult[]) => void;
  readonly reject: (e: Error) => void;
}

export class AddSession {
  readonly #stream: grpc.ClientDuplexStream<unknown, AddStreamResponse>;
  readonly #byRequest = new Map<bigint, Pending>();
  #nextRequestId = 1n;
  #error: Error | undefined;
  readonly ended: Promise<void>;

  constructor(raw: grpc.Client) {
    this.#stream = (
      raw as unknown as { addStream(): grpc.ClientDuplexStream<unknown, AddStreamResponse> }
    ).addStream();
    this.#stream.on('data', (res: AddStreamResponse) => {
      for (const r of res.results) {
        const p = this.#byRequest.get(r.requestId);
        if (!p) continue;
        this.#byRequest.delete(r.requestId);
        p.results.push(r);
        if (--p.remaining === 0) p.resolve(p.results);
      }
    });
    this.ended = new Promise((resolve) => {
      const fail = (err: Error) => {
        this.#error ??= err;
        const all = new Set(this.#byRequest.values());
        this.#byRequest.clear();
        for (const p of all) p.reject(err);
        resolve();
      };
      this.#stream.on('error', fail);
      this.#stream.on('end', () => fail(new Error('add stream ended')));
    });
  }

  /** Send one batch (one AddStream message); resolves with its results (any order). */
  add(entries: readonly TestEntry[]): Promise<AddResult[]> {
    if (this.#error) return Promise.reject(this.#error);
    const msgs: AddEntry[] = entries.map((e) =>
      create(AddEntrySchema, {
        requestId: this.#nextRequestId++,
        ledgerId: BigInt(e.ledgerId),
        entryId: BigInt(e.entryId),
        masterKey: e.masterKey ?? TEST_KEY,
        body: e.body ?? envelopeFor(e.ledgerId, e.entryId, e.payload ?? new Uint8Array(0), e.lac),
        recovery: e.recovery ?? false,
      }),
    );
    return this.sendRaw(msgs);
  }

  /** Send prepared AddEntry messages (request ids must be unique on this session). */
  sendRaw(msgs: AddEntry[]): Promise<AddResult[]> {
    return new Promise((resolve, reject) => {
      if (msgs.length === 0) return resolve([]);
      const p: Pending = { remaining: msgs.length, results: [], resolve, reject };
      for (const m of msgs) this.#byRequest.set(m.requestId, p);
      this.#stream.write({ entries: msgs });
    });
  }

  get inFlight(): number {
    return this.#byRequest.size;
  }

  end(): Promise<void> {
    this.#stream.end();
    return this.ended;
  }

  cancel(): void {
    this.#stream.cancel();
  }
}
