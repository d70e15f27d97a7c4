/**
 * Error codes of the metadata store (both implementations), its key helpers, the id allocator and
 * leader election. Callers branch on `code` / `retry`, never on message text.
 *
 * Outcome rules every implementation keeps:
 * - UNAVAILABLE means the operation was NOT applied (reads: nothing to apply; writes: the request
 *   never reached a server, or the store knows it failed).
 * - TIMEOUT means the outcome is unknown: a write may or may not have been applied. Re-read before
 *   deciding what to do (a CAS retried blindly could fail against its own earlier success).
 */
import { defineErrors } from '../errors/index.ts';

// gRPC status codes (numeric, as in @grpc/grpc-js `status`).
const GRPC = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
} as const;

export const MetadataErrors = defineErrors({
  BAD_VERSION: {
    message: 'key {key} is at version {actual}, not the expected {expected}',
    retry: 'fenced',
    grpc: GRPC.ABORTED,
    http: 409,
  },
  KEY_EXISTS: {
    message: 'key {key} already exists (version {actual})',
    retry: 'fenced',
    grpc: GRPC.ALREADY_EXISTS,
    http: 409,
  },
  NO_SUCH_KEY: {
    message: 'key {key} does not exist (expected version {expected})',
    retry: 'fenced',
    grpc: GRPC.NOT_FOUND,
    http: 404,
  },
  UNAVAILABLE: {
    message:
      'metadata store unavailable for {op} after {attempts} attempt(s) in {elapsedMs} ms; not applied: {cause}',
    retry: 'retryable',
    grpc: GRPC.UNAVAILABLE,
    http: 503,
  },
  TIMEOUT: {
    message:
      'metadata {op} timed out after {elapsedMs} ms; a write may or may not have been applied, re-read first: {cause}',
    retry: 'retryable',
    grpc: GRPC.DEADLINE_EXCEEDED,
    http: 504,
  },
  SESSION_LOST: {
    message: 'session {sessionId} lost: {reason}; create a new session',
    retry: 'retryable',
    grpc: GRPC.FAILED_PRECONDITION,
    http: 503,
  },
  SESSION_CLOSED: {
    message: 'session {sessionId} was closed by its owner',
    retry: 'bad-request',
    grpc: GRPC.FAILED_PRECONDITION,
    http: 400,
  },
  INVALID_KEY: {
    message: 'invalid {what} {value}: {why}',
    retry: 'bad-request',
    grpc: GRPC.INVALID_ARGUMENT,
    http: 400,
  },
  INVALID_ARGUMENT: {
    message: 'invalid {what}: {why}',
    retry: 'bad-request',
    grpc: GRPC.INVALID_ARGUMENT,
    http: 400,
  },
  VALUE_TOO_LARGE: {
    message: 'value of {key} is {bytes} bytes, above the limit of {maxBytes}',
    retry: 'bad-request',
    grpc: GRPC.OUT_OF_RANGE,
    http: 413,
  },
  TXN_TOO_LARGE: {
    message: 'transaction has {ops} ops / {bytes} bytes, above the limit of {maxOps} ops / {maxBytes} bytes',
    retry: 'bad-request',
    grpc: GRPC.OUT_OF_RANGE,
    http: 413,
  },
  TOO_MANY_KEYS: {
    message: 'more than {max} keys under {prefix}; page through them with list()',
    retry: 'bad-request',
    grpc: GRPC.OUT_OF_RANGE,
    http: 413,
  },
  WATCH_COMPACTED: {
    message:
      'watch on {prefix} cannot resume at version {version}: history compacted up to {compacted}; re-list',
    retry: 'retryable',
    grpc: GRPC.OUT_OF_RANGE,
    http: 410,
  },
  STORE_CLOSED: {
    message: 'metadata store is closed',
    retry: 'fatal',
    grpc: GRPC.UNAVAILABLE,
    http: 503,
  },
  STORE_LOCKED: {
    message: 'embedded metadata dir {dir} is in use by process {pid}; only one process may open it',
    retry: 'fatal',
    grpc: GRPC.FAILED_PRECONDITION,
    http: 500,
  },
  STORE_CORRUPT: {
    message: 'embedded metadata file {file} is corrupt at byte {offset}: {why}',
    retry: 'fatal',
    grpc: GRPC.DATA_LOSS,
    http: 500,
  },
  STORE_FAILED: {
    message: 'embedded metadata store stopped after an I/O failure: {cause}',
    retry: 'fatal',
    grpc: GRPC.INTERNAL,
    http: 500,
  },
  ID_SPACE_EXHAUSTED: {
    message: 'id counter {key} reached {next}; ids must stay below {max}',
    retry: 'fatal',
    grpc: GRPC.OUT_OF_RANGE,
    http: 500,
  },
  CORRUPT_VALUE: {
    message: 'value of {key} is not a valid {what}: {why}',
    retry: 'fatal',
    grpc: GRPC.DATA_LOSS,
    http: 500,
  },
  CAMPAIGN_ABORTED: {
    message: 'campaign in election {election} aborted: {reason}',
    retry: 'retryable',
    grpc: GRPC.ABORTED,
    http: 503,
  },
});

export type MetadataErrorCode = keyof typeof MetadataErrors.specs;
