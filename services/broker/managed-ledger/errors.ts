/**
 * Error registry of the managed ledger. Codes are stable; the broker maps them to Pulsar
 * ServerError values (the wire codes below are Pulsar's `ServerError` numbers).
 */
import { defineErrors } from '../../../lib/errors/index.ts';

// Pulsar ServerError numbers (PulsarApi.proto) used as wire codes.
const UNKNOWN_ERROR = 0;
const PERSISTENCE_ERROR = 3;
const SERVICE_NOT_READY = 11;
const TOPIC_TERMINATED = 13;
const PRODUCER_BUSY = 2;
const TOPIC_NOT_FOUND = 17;
const SUBSCRIPTION_NOT_FOUND = 18;
const NOT_ALLOWED = 16;

export const mlErrors = defineErrors({
  MANAGED_LEDGER_FENCED: {
    message: 'managed ledger {name} is fenced: another owner wrote its ledger list',
    retry: 'fenced',
    http: 409,
    wire: SERVICE_NOT_READY,
  },
  MANAGED_LEDGER_TERMINATED: {
    message: 'managed ledger {name} is terminated; no more appends',
    retry: 'bad-request',
    http: 409,
    wire: TOPIC_TERMINATED,
  },
  MANAGED_LEDGER_CLOSED: {
    message: 'managed ledger {name} is closed',
    retry: 'not-owner',
    http: 503,
    wire: SERVICE_NOT_READY,
  },
  MANAGED_LEDGER_DELETED: {
    message: 'managed ledger {name} was deleted',
    retry: 'bad-request',
    http: 404,
    wire: TOPIC_NOT_FOUND,
  },
  MANAGED_LEDGER_NOT_FOUND: {
    message: 'managed ledger {name} does not exist',
    retry: 'bad-request',
    http: 404,
    wire: TOPIC_NOT_FOUND,
  },
  TOO_MANY_PENDING_APPENDS: {
    message: 'managed ledger {name} has {pending} appends pending (max {max})',
    retry: 'retryable',
    http: 503,
    wire: PRODUCER_BUSY,
  },
  ENTRY_TOO_LARGE: {
    message: 'entry of {size} bytes exceeds the maximum of {max} bytes',
    retry: 'bad-request',
    http: 413,
    wire: NOT_ALLOWED,
  },
  APPEND_FAILED: {
    message: 'append to managed ledger {name} failed: {reason}',
    retry: 'retryable',
    http: 503,
    wire: PERSISTENCE_ERROR,
  },
  READ_FAILED: {
    message: 'reading {position} of managed ledger {name} failed: {reason}',
    retry: 'retryable',
    http: 503,
    wire: PERSISTENCE_ERROR,
  },
  METADATA_ERROR: {
    message: 'metadata operation on {name} failed: {reason}',
    retry: 'retryable',
    http: 503,
    wire: PERSISTENCE_ERROR,
  },
  CORRUPT_METADATA: {
    message: 'stored metadata of {name} cannot be decoded: {reason}',
    retry: 'fatal',
    http: 500,
    wire: UNKNOWN_ERROR,
  },
  INVALID_NAME: {
    message: 'invalid name "{name}": {reason}',
    retry: 'bad-request',
    http: 400,
    wire: NOT_ALLOWED,
  },
  INVALID_CONFIG: {
    message: 'invalid managed ledger config {field}={value}: {reason}',
    retry: 'bad-request',
    http: 400,
    wire: NOT_ALLOWED,
  },
  INVALID_POSITION: {
    message: 'invalid position {position}: {reason}',
    retry: 'bad-request',
    http: 400,
    wire: NOT_ALLOWED,
  },
  CURSOR_NOT_FOUND: {
    message: 'cursor {cursor} of {name} does not exist',
    retry: 'bad-request',
    http: 404,
    wire: SUBSCRIPTION_NOT_FOUND,
  },
  CURSOR_CLOSED: {
    message: 'cursor {cursor} of {name} is {state}',
    retry: 'not-owner',
    http: 409,
    wire: SERVICE_NOT_READY,
  },
  CONCURRENT_WAIT: {
    message: 'cursor {cursor} already has a pending read waiting for entries',
    retry: 'bad-request',
    http: 409,
    wire: NOT_ALLOWED,
  },
  TOO_MANY_CURSORS: {
    message: 'managed ledger {name} already has {count} cursors (max {max})',
    retry: 'bad-request',
    http: 409,
    wire: NOT_ALLOWED,
  },
  FACTORY_SHUT_DOWN: {
    message: 'managed ledger factory is shut down',
    retry: 'not-owner',
    http: 503,
    wire: SERVICE_NOT_READY,
  },
});

export type MlErrorCode = keyof typeof mlErrors.specs;
