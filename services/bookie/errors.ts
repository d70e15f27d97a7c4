/**
 * The bookie's one error registry. Every refusal a client can see has a stable code here, mapped
 * to its bookie.proto `Status` (wire) and a gRPC status code; the server answers with `wire` in
 * the response's status field and uses `grpc` only when a whole call fails.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { defineErrors, isMagnetarError } from '../../lib/errors/index.ts';
import { Status } from '../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';

export const BookieErrors = defineErrors({
  BOOKIE_BAD_LEDGER_ID: {
    message: 'ledger id {ledgerId} is not a valid id (0 .. 2^53-1)',
    retry: 'bad-request',
    grpc: GrpcStatus.INVALID_ARGUMENT,
    wire: Status.BAD_REQUEST,
  },
  BOOKIE_BAD_ENTRY_ID: {
    message: 'entry id {entryId} is not valid here ({why})',
    retry: 'bad-request',
    grpc: GrpcStatus.INVALID_ARGUMENT,
    wire: Status.BAD_REQUEST,
  },
  BOOKIE_BAD_ENVELOPE: {
    message: 'entry envelope is malformed: {why}',
    retry: 'bad-request',
    grpc: GrpcStatus.INVALID_ARGUMENT,
    wire: Status.BAD_REQUEST,
  },
  BOOKIE_DIGEST_MISMATCH: {
    message: 'entry {ledgerId}/{entryId}: the envelope crc32c does not match its bytes',
    retry: 'bad-request',
    grpc: GrpcStatus.DATA_LOSS,
    wire: Status.DIGEST_MISMATCH,
  },
  BOOKIE_ENTRY_TOO_LARGE: {
    message: 'entry of {bytes} bytes is over the maximum of {maxBytes}',
    retry: 'bad-request',
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    wire: Status.TOO_LARGE,
  },
  BOOKIE_BAD_REQUEST: {
    message: 'bad request: {why}',
    retry: 'bad-request',
    grpc: GrpcStatus.INVALID_ARGUMENT,
    wire: Status.BAD_REQUEST,
  },
  BOOKIE_MASTER_KEY_MISMATCH: {
    message: 'ledger {ledgerId}: the master key does not match the one it was created with',
    retry: 'bad-request',
    grpc: GrpcStatus.PERMISSION_DENIED,
    wire: Status.UNAUTHORIZED,
  },
  BOOKIE_LEDGER_FENCED: {
    message: 'ledger {ledgerId} is fenced: only recovery adds are accepted',
    retry: 'fenced',
    grpc: GrpcStatus.FAILED_PRECONDITION,
    wire: Status.FENCED,
  },
  BOOKIE_READ_ONLY: {
    message: 'bookie is read-only (disk usage {usage}); adds are refused',
    retry: 'retryable',
    grpc: GrpcStatus.UNAVAILABLE,
    wire: Status.READ_ONLY,
  },
  BOOKIE_NO_LEDGER: {
    message: 'ledger {ledgerId} is not stored on this bookie',
    retry: 'bad-request',
    grpc: GrpcStatus.NOT_FOUND,
    wire: Status.NO_LEDGER,
  },
  BOOKIE_NO_ENTRY: {
    message: 'entry {ledgerId}/{entryId} is not stored on this bookie',
    retry: 'bad-request',
    grpc: GrpcStatus.NOT_FOUND,
    wire: Status.NO_ENTRY,
  },
  BOOKIE_UNKNOWN_LEDGER_STATE: {
    message:
      'ledger {ledgerId}: this bookie may have lost data of it ({why}); it cannot say the entry is absent',
    retry: 'retryable',
    grpc: GrpcStatus.UNAVAILABLE,
    wire: Status.UNKNOWN_LEDGER_STATE,
  },
  BOOKIE_TOO_MANY_REQUESTS: {
    message: 'bookie is over a bound ({bound}); retry later',
    retry: 'retryable',
    grpc: GrpcStatus.RESOURCE_EXHAUSTED,
    wire: Status.TOO_MANY_REQUESTS,
  },
  BOOKIE_IO_ERROR: {
    message: 'storage I/O failed: {why}',
    retry: 'retryable',
    grpc: GrpcStatus.INTERNAL,
    wire: Status.IO_ERROR,
  },
  BOOKIE_SHUTTING_DOWN: {
    message: 'bookie is shutting down',
    retry: 'retryable',
    grpc: GrpcStatus.UNAVAILABLE,
    wire: Status.SHUTTING_DOWN,
  },
  BOOKIE_COOKIE_MISMATCH: {
    message: 'cookie check failed: {why}; refusing to start (wiped, swapped or foreign disk)',
    retry: 'fatal',
    wire: Status.IO_ERROR,
  },
  BOOKIE_DIR_LOCKED: {
    message: 'directory {dir} is in use by another bookie process (pid {pid})',
    retry: 'fatal',
  },
  BOOKIE_JOURNAL_CORRUPT: {
    message: 'journal {file} is corrupt at offset {offset}: {why}',
    retry: 'fatal',
  },
  BOOKIE_INDEX_CORRUPT: {
    message: 'ledger index {file} is corrupt at offset {offset}: {why}',
    retry: 'fatal',
  },
  BOOKIE_JOURNAL_FAILED: {
    message: 'journal write or fsync failed ({why}); no further adds can be made durable',
    retry: 'fatal',
    grpc: GrpcStatus.INTERNAL,
    wire: Status.IO_ERROR,
  },
  BOOKIE_REGISTRATION_FAILED: {
    message: 'cannot register bookie {bookieId} in the metadata store: {why}',
    retry: 'retryable',
  },
  BOOKIE_CONFIG_INVALID: {
    message: 'bookie configuration is inconsistent: {why}',
    retry: 'fatal',
  },
});

export type BookieErrorCode = keyof typeof BookieErrors.specs;

/** The bookie.proto Status for any error thrown inside the bookie (unknown errors are I/O errors). */
export function statusOf(err: unknown): Status {
  if (isMagnetarError(err) && err.spec.wire !== undefined) return err.spec.wire as Status;
  return Status.IO_ERROR;
}

/** The gRPC status code for an error that fails a whole call. */
export function grpcCodeOf(err: unknown): number {
  if (isMagnetarError(err) && err.spec.grpc !== undefined) return err.spec.grpc;
  return GrpcStatus.INTERNAL;
}

const STATUS_NAMES = new Map<number, string>(
  Object.entries(Status).map(([k, v]) => [v as number, k.toLowerCase()]),
);

/** A Status as a metric label ("ok", "fenced", ...). */
export function statusName(s: Status): string {
  return STATUS_NAMES.get(s) ?? String(s);
}
