/**
 * Every kind of bad input over the gRPC surface gets a stable coded answer and never takes the
 * bookie down (real process).
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Status } from '../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { ENVELOPE_OVERHEAD_BYTES, encodeEnvelope } from '../../lib/ledger/envelope.ts';
import { type AddSession, envelopeFor, payloadFor } from '../../services/bookie/testing/client.ts';
import { stopAll } from '../harness/index.ts';
import { bookieDirs, type RunningBookie, startBookieProcess } from './helpers.ts';

const identity = (b: Buffer) => b;
const method = (name: string, stream: boolean) => ({
  path: `/magnetar.bookie.v1.BookieService/${name}`,
  requestStream: stream,
  responseStream: stream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const RawClient = grpc.makeGenericClientConstructor(
  {
    readEntry: method('ReadEntry', false),
    addStream: method('AddStream', true),
    nope: method('Nope', false),
  },
  'BookieService',
);

let b: RunningBookie;
let session: AddSession;

beforeAll(async () => {
  b = await startBookieProcess('bad-1', bookieDirs(), [
    '--registration',
    'false',
    '--max-entry-bytes',
    String(64 * 1024),
    '--max-entries-per-add-message',
    '100',
    '--max-master-key-bytes',
    '32',
    '--grpc-max-message-bytes',
    String(1024 * 1024),
  ]);
  session = b.client.openAddSession();
  expect((await session.add([{ ledgerId: 1, entryId: 0, payload: Buffer.from('ok') }]))[0].status).toBe(
    Status.OK,
  );
});
afterAll(async () => {
  await stopAll();
});

async function alive(): Promise<void> {
  const r = await b.client.readEntry({ ledgerId: 1n, entryId: 0n });
  expect(r.status).toBe(Status.OK);
}

function rawUnary(name: 'readEntry' | 'nope', bytes: Buffer): Promise<grpc.ServiceError | Buffer> {
  const c = new RawClient(b.address, grpc.credentials.createInsecure());
  return new Promise((resolve) =>
    (c as unknown as Record<string, (...a: unknown[]) => void>)[name](
      bytes,
      (err: grpc.ServiceError | null, res: Buffer) => {
        c.close();
        resolve(err ?? res);
      },
    ),
  );
}

describe('bad input over gRPC (real process)', { concurrent: false }, () => {
  it('answers each bad add with its own coded status and keeps the stream usable', async () => {
    const good = (ledgerId: number, entryId: number) =>
      envelopeFor(ledgerId, entryId, payloadFor(ledgerId, entryId, 10));
    const corrupt = Buffer.from(good(2, 0));
    corrupt[40] ^= 0xff;
    const cases: [string, Parameters<AddSession['add']>[0][number], Status][] = [
      ['negative ledger id', { ledgerId: -1, entryId: 0, body: good(0, 0) }, Status.BAD_REQUEST],
      ['negative entry id', { ledgerId: 2, entryId: -5, body: good(2, 0) }, Status.BAD_REQUEST],
      ['ledger id above 2^53', { ledgerId: 2 ** 60, entryId: 0, body: good(2, 0) }, Status.BAD_REQUEST],
      ['envelope too short', { ledgerId: 2, entryId: 0, body: Buffer.alloc(10) }, Status.BAD_REQUEST],
      ['envelope names another entry', { ledgerId: 2, entryId: 1, body: good(2, 0) }, Status.BAD_REQUEST],
      ['envelope names another ledger', { ledgerId: 3, entryId: 0, body: good(2, 0) }, Status.BAD_REQUEST],
      ['wrong digest', { ledgerId: 2, entryId: 0, body: corrupt }, Status.DIGEST_MISMATCH],
      [
        'entry too large',
        { ledgerId: 2, entryId: 0, payload: Buffer.alloc(64 * 1024 + 1) },
        Status.TOO_LARGE,
      ],
      ['master key too long', { ledgerId: 2, entryId: 0, masterKey: Buffer.alloc(33) }, Status.BAD_REQUEST],
      [
        'master key mismatch',
        { ledgerId: 1, entryId: 1, masterKey: Buffer.from('other') },
        Status.UNAUTHORIZED,
      ],
    ];
    const results = await session.add(cases.map(([, e]) => e));
    cases.forEach(([name, , want], i) => {
      expect(results[i].status, name).toBe(want);
    });
    // Results echo the ids the client sent, even invalid ones.
    expect(results[0].ledgerId).toBe(-1n);
    expect(results[1].entryId).toBe(-5n);
    // Nothing bad was stored; the ledgers it named do not exist.
    expect((await b.client.readEntry({ ledgerId: 2n, entryId: 0n })).status).toBe(Status.NO_LEDGER);
    const tooMany = await session.add(Array.from({ length: 101 }, (_, i) => ({ ledgerId: 4, entryId: i })));
    expect(tooMany.every((r) => r.status === Status.BAD_REQUEST)).toBe(true);
    // The limit is on the payload, as in the client (entryBytesMax): the envelope may be larger.
    const atLimit = await session.add([{ ledgerId: 6, entryId: 0, payload: Buffer.alloc(64 * 1024, 1) }]);
    expect(atLimit[0].status).toBe(Status.OK);
    const read = await b.client.readEntry({ ledgerId: 6n, entryId: 0n });
    expect(read.body.byteLength).toBe(64 * 1024 + ENVELOPE_OVERHEAD_BYTES);
    await b.client.fence(5);
    expect((await session.add([{ ledgerId: 5, entryId: 0 }]))[0].status).toBe(Status.FENCED);
    expect((await session.add([{ ledgerId: 1, entryId: 1, payload: Buffer.from('fine') }]))[0].status).toBe(
      Status.OK,
    );
    await alive();
  });

  it('answers bad read, fence and list requests with coded statuses', async () => {
    const c = b.client;
    expect((await c.readEntry({ ledgerId: -1n, entryId: 0n })).status).toBe(Status.BAD_REQUEST);
    expect((await c.readEntry({ ledgerId: 1n, entryId: -2n })).status).toBe(Status.BAD_REQUEST);
    expect((await c.readEntry({ ledgerId: 1n, entryId: 2n ** 62n })).status).toBe(Status.BAD_REQUEST);
    expect((await c.readEntry({ ledgerId: 77n, entryId: 0n })).status).toBe(Status.NO_LEDGER);
    expect((await c.readEntry({ ledgerId: 1n, entryId: 50n })).status).toBe(Status.NO_ENTRY);
    expect(
      (await c.readEntry({ ledgerId: 1n, entryId: 0n, fence: true, masterKey: Buffer.from('bad') })).status,
    ).toBe(Status.UNAUTHORIZED);
    expect((await c.readRange({ ledgerId: 1n, firstEntryId: -1n })).status).toBe(Status.BAD_REQUEST);
    const range = await c.readRange({ ledgerId: 1n, firstEntryId: 0n, maxEntries: 1 });
    expect(range.bodies).toHaveLength(1);
    expect(range.stopStatus).toBe(Status.OK);
    // Striped ranges: bad strides are refused; a good one selects 0, 2, 4... and stops at 2.
    for (const bad of [
      { stridePeriod: 2, strideRun: 3 },
      { stridePeriod: 2, strideRun: 1, firstRunPosition: 1 },
      { strideRun: 1 },
      { stridePeriod: 100_000, strideRun: 1 },
    ])
      expect((await c.readRange({ ledgerId: 1n, firstEntryId: 0n, ...bad })).status).toBe(Status.BAD_REQUEST);
    const striped = await c.readRange({ ledgerId: 1n, firstEntryId: 0n, stridePeriod: 2, strideRun: 1 });
    expect(striped.bodies).toHaveLength(1);
    expect(striped.stopStatus).toBe(Status.NO_ENTRY);
    expect((await c.readLac({ ledgerId: 1n, previousLac: -2n })).status).toBe(Status.BAD_REQUEST);
    expect((await c.fence(1, Buffer.alloc(100))).status).toBe(Status.BAD_REQUEST);
    expect((await c.fence(-3)).status).toBe(Status.BAD_REQUEST);
    expect((await c.listLedgers(-5)).status).toBe(Status.BAD_REQUEST);
    expect((await c.listEntries(123)).status).toBe(Status.NO_LEDGER);
    expect((await c.deleteLedger(-1)).status).toBe(Status.BAD_REQUEST);
    await alive();
  });

  it('fails malformed protobuf bytes, unknown methods and oversized messages without crashing', async () => {
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    const unary = await rawUnary('readEntry', garbage);
    expect((unary as grpc.ServiceError).code).toBe(grpc.status.INTERNAL);
    const unknown = await rawUnary('nope', Buffer.alloc(0));
    expect((unknown as grpc.ServiceError).code).toBe(grpc.status.UNIMPLEMENTED);

    const c = new RawClient(b.address, grpc.credentials.createInsecure());
    const stream = (c as unknown as { addStream(): grpc.ClientDuplexStream<Buffer, Buffer> }).addStream();
    const failed = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', () => {});
    stream.write(Buffer.from([0x0a, 0x05, 0x10, 0x01]));
    expect((await failed).code).toBe(grpc.status.INTERNAL);
    c.close();

    const big = b.client.openAddSession();
    const huge = encodeEnvelope(
      { ledgerId: 9, entryId: 0, lastAddConfirmed: -1, length: 0 },
      Buffer.alloc(60_000),
    );
    const err = await big
      .add(Array.from({ length: 20 }, (_, i) => ({ ledgerId: 9, entryId: i, body: huge })))
      .catch((e) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    await alive();
    expect(b.proc.child.exitCode).toBeNull();
  });

  it('survives clients that cancel streams with adds in flight or vanish mid-poll', async () => {
    for (let round = 0; round < 5; round++) {
      const s = b.client.openAddSession();
      const pending = s.add(
        Array.from({ length: 500 }, (_, i) => ({
          ledgerId: 20 + round,
          entryId: i,
          payload: Buffer.alloc(500),
        })),
      );
      s.cancel();
      await pending.catch(() => undefined);
    }
    const poll = b.client.readLac({ ledgerId: 1n, previousLac: 100n, timeoutMs: 30_000 }, 200);
    await expect(poll).rejects.toThrow(/DEADLINE_EXCEEDED|Deadline/);
    await alive();
  });
});
