/**
 * What the ledger client needs from bookies, independent of gRPC: the real implementation is
 * lib/ledger/grpc/grpc-transport.ts, the simulation's is in test/ledger/sim/. Callbacks, not
 * promises, so protocol drivers stay synchronous event handlers and a simulation step is one
 * event.
 *
 * Adds have no deadline here: their callback runs at most once (an answer, or UNAVAILABLE when the
 * connection breaks), and the add sequencer times out adds a bookie never answers. The other
 * requests take a deadline: their callback runs exactly once, with TIMEOUT when it passes.
 */
import { Status } from '../../gen/magnetar/bookie/v1/bookie_pb.ts';

/** Statuses made up by the transport (negative, so they never collide with bookie statuses). */
export const TransportStatus = {
  /** Could not reach the bookie, or the connection broke before an answer. */
  UNAVAILABLE: -1,
  /** No answer before the deadline. */
  TIMEOUT: -2,
} as const;

export type ReplyStatus = Status | (typeof TransportStatus)[keyof typeof TransportStatus];

export interface AddRequest {
  readonly ledgerId: number;
  readonly entryId: number;
  readonly masterKey: Uint8Array;
  readonly body: Uint8Array;
  readonly recovery: boolean;
}

export interface ReadEntryRequest {
  readonly ledgerId: number;
  readonly entryId: number;
  readonly fence: boolean;
  readonly masterKey: Uint8Array;
}

export interface ReadEntryReply {
  readonly status: ReplyStatus;
  readonly body?: Uint8Array;
  readonly maxLac?: number;
}

/**
 * A striped range selects only entries e >= first with (e − first + position) mod period < run
 * (bookie.proto ReadRangeRequest.stride_*): the runs one bookie of a round-robin ensemble holds.
 * Needs 1 <= run <= period and position < run.
 */
export interface RangeStride {
  readonly period: number;
  readonly run: number;
  readonly position: number;
}

export interface ReadRangeRequest {
  readonly ledgerId: number;
  readonly firstEntryId: number;
  /** Counts selected entries when `stride` is set. */
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Undefined: consecutive entries. */
  readonly stride?: RangeStride;
}

export interface ReadRangeReply {
  readonly status: ReplyStatus;
  readonly bodies: readonly Uint8Array[];
  readonly stopStatus: ReplyStatus;
}

export interface ReadLacRequest {
  readonly ledgerId: number;
  /** With `longPollMs > 0`: answer once the bookie's LAC passes this (or the poll ends). */
  readonly previousLac: number;
  readonly longPollMs: number;
}

export interface LacReplyMsg {
  readonly status: ReplyStatus;
  readonly lac: number;
}

export interface BookieTransport {
  add(bookieId: string, req: AddRequest, cb: (status: ReplyStatus) => void): void;
  readEntry(
    bookieId: string,
    req: ReadEntryRequest,
    timeoutMs: number,
    cb: (r: ReadEntryReply) => void,
  ): void;
  readRange(
    bookieId: string,
    req: ReadRangeRequest,
    timeoutMs: number,
    cb: (r: ReadRangeReply) => void,
  ): void;
  readLac(bookieId: string, req: ReadLacRequest, timeoutMs: number, cb: (r: LacReplyMsg) => void): void;
  fence(
    bookieId: string,
    req: { ledgerId: number; masterKey: Uint8Array },
    timeoutMs: number,
    cb: (r: LacReplyMsg) => void,
  ): void;
  deleteLedger(
    bookieId: string,
    ledgerId: number,
    timeoutMs: number,
    cb: (status: ReplyStatus) => void,
  ): void;
  close(): Promise<void>;
}

export function statusName(status: ReplyStatus): string {
  if (status === TransportStatus.UNAVAILABLE) return 'UNAVAILABLE';
  if (status === TransportStatus.TIMEOUT) return 'TIMEOUT';
  const entry = Object.entries(Status).find(([, v]) => v === status);
  return entry ? entry[0] : `STATUS_${status}`;
}
