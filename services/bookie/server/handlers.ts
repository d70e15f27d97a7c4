/**
 * Unary gRPC handlers. Every outcome, including bad input, is an answer with a bookie.proto
 * Status (never a thrown error or a crashed process); only unexpected failures are logged.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type * as grpc from '@grpc/grpc-js';
import {
  type DeleteLedgerResponseSchema,
  type FenceResponseSchema,
  type GetBookieInfoResponseSchema,
  type ListEntriesResponseSchema,
  type ListLedgersResponseSchema,
  type ReadEntryResponseSchema,
  type ReadLacResponseSchema,
  type ReadRangeResponseSchema,
  BookieState,
  Status,
  type DeleteLedgerRequest,
  type FenceRequest,
  type ListEntriesRequest,
  type ListLedgersRequest,
  type ReadEntryRequest,
  type ReadLacRequest,
  type ReadRangeRequest,
} from '../../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { isMagnetarError } from '../../../lib/errors/index.ts';
import { BookieErrors, statusName, statusOf } from '../errors.ts';
import { listEntries, missingLedger, type ReadOutcome, readEntry, readRange } from '../storage/reader.ts';
import type { LedgerRecord } from '../storage/ledger-record.ts';
import type { ServerContext } from './context.ts';
import { entryIdOf, lacOf, ledgerIdOf, masterKeyOf, strideOf } from './validate.ts';

const EMPTY = new Uint8Array(0);
const RANGE_SLACK_BYTES = 64 * 1024;

export function outcomeStatus(r: ReadOutcome): Status {
  switch (r.status) {
    case 'ok':
      return Status.OK;
    case 'no-ledger':
      return Status.NO_LEDGER;
    case 'no-entry':
      return Status.NO_ENTRY;
    case 'unknown':
      return Status.UNKNOWN_LEDGER_STATE;
  }
}

/** Wrap a handler: coded errors become a response with that status; nothing escapes. */
function unary<Req, R>(
  ctx: ServerContext,
  name: string,
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, R>) => Promise<R>,
  failed: (status: Status) => R,
): grpc.handleUnaryCall<Req, R> {
  const latency = ctx.metrics.readLatency.labels(name);
  return (call, callback) => {
    const t0 = performance.now();
    const run = async () => {
      if (ctx.closing) throw BookieErrors.make('BOOKIE_SHUTTING_DOWN');
      return fn(call.request, call);
    };
    run()
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          if (!isMagnetarError(err))
            ctx.log.error({ err, call: name }, 'unexpected failure in a bookie call');
          callback(null, failed(statusOf(err)));
        },
      )
      .finally(() => latency.observe((performance.now() - t0) / 1000));
  };
}

async function lastEntryBody(ctx: ServerContext, rec: LedgerRecord): Promise<Uint8Array> {
  if (rec.lastEntryId < 0) return EMPTY;
  const r = await readEntry(ctx.storage, rec.ledgerId, rec.lastEntryId);
  return r.status === 'ok' ? r.body : EMPTY;
}

export function unaryHandlers(ctx: ServerContext) {
  const { storage, cfg } = ctx;
  const counted = (call: string, status: Status, n = 1) =>
    ctx.metrics.readEntries.inc({ call, status: statusName(status) }, n);

  const readEntryCall = unary<ReadEntryRequest, MessageInitShape<typeof ReadEntryResponseSchema>>(
    ctx,
    'read_entry',
    async (req) => {
      const ledgerId = ledgerIdOf(req.ledgerId);
      const entryId = entryIdOf(req.entryId, true);
      if (req.fence) await storage.fence(ledgerId, masterKeyOf(req.masterKey, cfg));
      const r = await readEntry(storage, ledgerId, entryId);
      const status = outcomeStatus(r);
      counted('read_entry', status);
      return {
        status,
        ledgerId: req.ledgerId,
        entryId: r.status === 'ok' ? BigInt(r.entryId) : req.entryId,
        body: r.status === 'ok' ? r.body : EMPTY,
        maxLac: BigInt(r.rec?.lac ?? -1),
      };
    },
    (status) => ({ status, maxLac: -1n }),
  );

  const readRangeCall = unary<ReadRangeRequest, MessageInitShape<typeof ReadRangeResponseSchema>>(
    ctx,
    'read_range',
    async (req) => {
      const ledgerId = ledgerIdOf(req.ledgerId);
      const first = entryIdOf(req.firstEntryId);
      const maxEntries = Math.min(req.maxEntries || cfg.maxReadRangeEntries, cfg.maxReadRangeEntries);
      const byteCap = cfg.grpcMaxMessageBytes - RANGE_SLACK_BYTES;
      const maxBytes = Math.min(req.maxBytes || byteCap, byteCap);
      const stride = strideOf(req);
      if (req.fence) await storage.fence(ledgerId, masterKeyOf(req.masterKey, cfg));
      const r = await readRange(storage, ledgerId, first, maxEntries, maxBytes, stride);
      const stopStatus = r.stop ? outcomeStatus(r.stop) : Status.OK;
      const status = r.bodies.length > 0 ? Status.OK : stopStatus;
      counted('read_range', Status.OK, r.bodies.length);
      if (r.bodies.length === 0) counted('read_range', status);
      return { status, bodies: r.bodies, maxLac: BigInt(r.rec?.lac ?? -1), stopStatus };
    },
    (status) => ({ status, stopStatus: status, maxLac: -1n }),
  );

  const readLacCall = unary<ReadLacRequest, MessageInitShape<typeof ReadLacResponseSchema>>(
    ctx,
    'read_lac',
    async (req, call) => {
      const ledgerId = ledgerIdOf(req.ledgerId);
      const previousLac = lacOf(req.previousLac, 'previous_lac');
      let rec = storage.ledgers.get(ledgerId);
      if (!rec)
        return { status: outcomeStatus(missingLedger(storage, ledgerId)), lac: -1n, lastEntryId: -1n };
      let timedOut = false;
      if (req.timeoutMs > 0 && rec.lac <= previousLac) {
        const poll = ctx.waiters.wait(ledgerId, previousLac, Math.min(req.timeoutMs, cfg.maxLongPollMs));
        ctx.metrics.longPolls.set(ctx.waiters.count);
        call.once('cancelled', () => poll.cancel());
        const end = await poll.ended;
        ctx.metrics.longPolls.set(ctx.waiters.count);
        if (end === 'closed') throw BookieErrors.make('BOOKIE_SHUTTING_DOWN');
        rec = storage.ledgers.get(ledgerId);
        if (!rec)
          return { status: outcomeStatus(missingLedger(storage, ledgerId)), lac: -1n, lastEntryId: -1n };
        timedOut = end === 'timeout';
      }
      let piggybackBody: Uint8Array = EMPTY;
      if (req.piggybackEntry && previousLac + 1 <= rec.lastEntryId) {
        const p = await readEntry(storage, ledgerId, previousLac + 1);
        if (p.status === 'ok') piggybackBody = p.body;
      }
      const status = rec.limbo ? Status.UNKNOWN_LEDGER_STATE : timedOut ? Status.TIMEOUT : Status.OK;
      return {
        status,
        lac: BigInt(rec.lac),
        lastEntryId: BigInt(rec.lastEntryId),
        lastEntryBody: await lastEntryBody(ctx, rec),
        piggybackBody,
      };
    },
    (status) => ({ status, lac: -1n, lastEntryId: -1n }),
  );

  const fenceCall = unary<FenceRequest, MessageInitShape<typeof FenceResponseSchema>>(
    ctx,
    'fence',
    async (req) => {
      const ledgerId = ledgerIdOf(req.ledgerId);
      const rec = await storage.fence(ledgerId, masterKeyOf(req.masterKey, cfg));
      return {
        status: rec.limbo ? Status.UNKNOWN_LEDGER_STATE : Status.OK,
        lac: BigInt(rec.lac),
        lastEntryId: BigInt(rec.lastEntryId),
        lastEntryBody: await lastEntryBody(ctx, rec),
      };
    },
    (status) => ({ status, lac: -1n, lastEntryId: -1n }),
  );

  const deleteCall = unary<DeleteLedgerRequest, MessageInitShape<typeof DeleteLedgerResponseSchema>>(
    ctx,
    'delete_ledger',
    async (req) => {
      const existed = await storage.deleteLedger(ledgerIdOf(req.ledgerId));
      return { status: existed ? Status.OK : Status.NO_LEDGER };
    },
    (status) => ({ status }),
  );

  const listLedgersCall = unary<ListLedgersRequest, MessageInitShape<typeof ListLedgersResponseSchema>>(
    ctx,
    'list_ledgers',
    async (req) => {
      const after = req.startAfter === -1n ? -1 : ledgerIdOf(req.startAfter);
      const limit = Math.min(req.limit || cfg.maxListLedgers, cfg.maxListLedgers);
      const ids = [...storage.ledgers.keys()].filter((id) => id > after).sort((a, b) => a - b);
      return { status: Status.OK, ledgerIds: ids.slice(0, limit).map(BigInt), more: ids.length > limit };
    },
    (status) => ({ status }),
  );

  const listEntriesCall = unary<ListEntriesRequest, MessageInitShape<typeof ListEntriesResponseSchema>>(
    ctx,
    'list_entries',
    async (req) => {
      const ledgerId = ledgerIdOf(req.ledgerId);
      const rec = storage.ledgers.get(ledgerId);
      if (!rec) return { status: outcomeStatus(missingLedger(storage, ledgerId)) };
      const ranges = await listEntries(storage, rec);
      return {
        status: rec.limbo ? Status.UNKNOWN_LEDGER_STATE : Status.OK,
        ranges: ranges.map(([first, last]) => ({ first: BigInt(first), last: BigInt(last) })),
      };
    },
    (status) => ({ status }),
  );

  const infoCall = unary<unknown, MessageInitShape<typeof GetBookieInfoResponseSchema>>(
    ctx,
    'get_bookie_info',
    async () => ({
      bookieId: ctx.identity.bookieId,
      instanceId: ctx.identity.instanceId,
      state: ctx.disk.readOnly ? BookieState.READ_ONLY : BookieState.WRITABLE,
      totalDiskBytes: BigInt(Math.round(ctx.disk.last.totalBytes)),
      freeDiskBytes: BigInt(Math.round(ctx.disk.last.freeBytes)),
      ledgerCount: BigInt(storage.ledgers.size),
    }),
    () => ({ bookieId: ctx.identity.bookieId }),
  );

  return {
    readEntry: readEntryCall,
    readRange: readRangeCall,
    readLac: readLacCall,
    fence: fenceCall,
    deleteLedger: deleteCall,
    listLedgers: listLedgersCall,
    listEntries: listEntriesCall,
    getBookieInfo: infoCall,
  };
}
