/**
 * The broker's error registry. Every error a client can see carries a stable code here and the
 * Pulsar `ServerError` it travels as (`wire`), so protocol handlers never pick wire codes ad hoc.
 * `toServerError` also maps managed-ledger errors (by code) and unknown exceptions.
 */
import { defineErrors, isMagnetarError, type MagnetarError } from '../../lib/errors/index.ts';
import { authErrors } from '../../lib/auth/errors.ts';
import { ClusterErrors } from '../../lib/cluster/errors.ts';
import { ServerError } from '../../lib/wire/protocol.ts';

export const brokerErrors = defineErrors({
  INVALID_TOPIC_NAME: {
    message: '{detail}',
    retry: 'bad-request',
    http: 412,
    wire: ServerError.InvalidTopicName,
  },
  TOPIC_NOT_FOUND: {
    message: 'topic {topic} does not exist',
    retry: 'bad-request',
    http: 404,
    wire: ServerError.TopicNotFound,
  },
  PARTITIONED_TOPIC_DIRECT_ACCESS: {
    message: 'topic {topic} is partitioned ({partitions} partitions): use its partitions',
    retry: 'bad-request',
    http: 409,
    wire: ServerError.NotAllowedError,
  },
  PARTITION_OUT_OF_RANGE: {
    message: 'topic {topic} has {partitions} partitions; partition {index} does not exist',
    retry: 'bad-request',
    http: 404,
    wire: ServerError.TopicNotFound,
  },
  TOPIC_CLOSED: {
    message: 'topic {topic} is closing or unloaded; look it up again',
    retry: 'not-owner',
    http: 503,
    wire: ServerError.ServiceNotReady,
  },
  TOPIC_TERMINATED: {
    message: 'topic {topic} is terminated',
    retry: 'bad-request',
    http: 409,
    wire: ServerError.TopicTerminatedError,
  },
  STORAGE_UNAVAILABLE: {
    message: 'persistent topics need a metadata store and bookies; this broker has none configured',
    retry: 'fatal',
    http: 503,
    wire: ServerError.ServiceNotReady,
  },
  PERSISTENCE_FAILED: {
    message: 'storing on topic {topic} failed: {reason}',
    retry: 'retryable',
    http: 503,
    wire: ServerError.PersistenceError,
  },
  METADATA_FAILED: {
    message: 'metadata operation failed: {reason}',
    retry: 'retryable',
    http: 503,
    wire: ServerError.MetadataError,
  },
  PRODUCER_NAME_BUSY: {
    message: 'producer name {name} is already connected to topic {topic}',
    retry: 'retryable',
    http: 409,
    wire: ServerError.ProducerBusy,
  },
  PRODUCER_FENCED: {
    message: 'topic {topic} has an {mode} producer; access mode {requested} refused',
    retry: 'fenced',
    http: 409,
    wire: ServerError.ProducerFenced,
  },
  TOO_MANY_PRODUCERS: {
    message: 'topic {topic} already has {count} producers (max {max})',
    retry: 'retryable',
    http: 409,
    wire: ServerError.ProducerBusy,
  },
  PRODUCER_NOT_FOUND: {
    message: 'no producer {producerId} on this connection',
    retry: 'bad-request',
    http: 404,
    wire: ServerError.NotAllowedError,
  },
  PRODUCER_NOT_READY: {
    message: 'producer {producerId} is still waiting for exclusive access',
    retry: 'retryable',
    http: 409,
    wire: ServerError.ServiceNotReady,
  },
  DUPLICATE_ID_PENDING: {
    message: '{kind} {id} is still being created on this connection',
    retry: 'retryable',
    http: 409,
    wire: ServerError.ServiceNotReady,
  },
  CHECKSUM_MISMATCH: {
    message: 'payload checksum {actual} does not match the sent {expected}',
    retry: 'retryable',
    http: 400,
    wire: ServerError.ChecksumError,
  },
  MESSAGE_TOO_LARGE: {
    message: 'message of {size} bytes exceeds the maximum of {max} bytes',
    retry: 'bad-request',
    http: 413,
    wire: ServerError.NotAllowedError,
  },
  MALFORMED_PAYLOAD: {
    message: 'malformed message payload: {detail}',
    retry: 'bad-request',
    http: 400,
    wire: ServerError.NotAllowedError,
  },
  DEDUP_STATUS_UNKNOWN: {
    message: 'sequence {sequenceId} of producer {producer} is being persisted; retry later',
    retry: 'retryable',
    http: 409,
    wire: ServerError.PersistenceError,
  },
  BACKLOG_QUOTA_HOLD: {
    message: 'topic {topic} is over its backlog quota ({quota}); producers are held until the backlog falls',
    retry: 'retryable',
    http: 412,
    wire: ServerError.ProducerBlockedQuotaExceededError,
  },
  BACKLOG_QUOTA_EXCEEDED: {
    message: 'topic {topic} is over its backlog quota ({quota}); publishing is refused',
    retry: 'bad-request',
    http: 412,
    wire: ServerError.ProducerBlockedQuotaExceededException,
  },
  SUBSCRIBE_RATE_EXCEEDED: {
    message: 'consumer {consumer} subscribes faster than {rate} per {periodSeconds} s on topic {topic}',
    retry: 'retryable',
    http: 429,
    wire: ServerError.TooManyRequests,
  },
  TOO_MANY_PENDING_SENDS: {
    message: 'topic {topic} has too many pending writes',
    retry: 'retryable',
    http: 429,
    wire: ServerError.TooManyRequests,
  },
  CONSUMER_BUSY: {
    message: 'subscription {subscription} is {reason}',
    retry: 'retryable',
    http: 409,
    wire: ServerError.ConsumerBusy,
  },
  CONSUMER_NOT_FOUND: {
    message: 'no consumer {consumerId} on this connection',
    retry: 'bad-request',
    http: 404,
    wire: ServerError.ConsumerNotFound,
  },
  CONSUMER_ASSIGN_FAILED: {
    message: 'key-shared ranges refused: {reason}',
    retry: 'bad-request',
    http: 409,
    wire: ServerError.ConsumerAssignError,
  },
  TOO_MANY_CONSUMERS: {
    message: '{scope} already has {count} consumers (max {max})',
    retry: 'retryable',
    http: 409,
    wire: ServerError.ConsumerBusy,
  },
  SUBSCRIPTION_NOT_FOUND: {
    message: 'subscription {subscription} does not exist on {topic}',
    retry: 'bad-request',
    http: 404,
    wire: ServerError.SubscriptionNotFound,
  },
  SUBSCRIPTION_BUSY: {
    message: 'subscription {subscription} has {count} other consumers connected',
    retry: 'retryable',
    http: 412,
    wire: ServerError.ConsumerBusy,
  },
  INVALID_SUBSCRIPTION_NAME: {
    message: 'invalid subscription name "{name}": {reason}',
    retry: 'bad-request',
    http: 412,
    wire: ServerError.NotAllowedError,
  },
  NOT_SUPPORTED_ON_TOPIC: {
    message: '{operation} is not supported on {kind} topics',
    retry: 'bad-request',
    http: 405,
    wire: ServerError.NotAllowedError,
  },
  INVALID_MESSAGE_ID: {
    message: 'invalid message id {id}: {reason}',
    retry: 'bad-request',
    http: 412,
    wire: ServerError.NotAllowedError,
  },
  MESSAGE_NOT_FOUND: {
    message: 'no message {ledgerId}:{entryId} in topic {topic}',
    retry: 'bad-request',
    http: 404,
    wire: ServerError.NotAllowedError,
  },
  TOPIC_BUSY: {
    message: 'topic {topic} has {what} connected; use force to delete it',
    retry: 'retryable',
    http: 412,
    wire: ServerError.NotAllowedError,
  },
  SCHEMA_NOT_FOUND: {
    message: 'no schema stored for topic {topic}',
    retry: 'bad-request',
    http: 404,
    wire: ServerError.TopicNotFound,
  },
  TRANSACTIONS_DISABLED: {
    message: 'transactions are not supported by this broker',
    retry: 'bad-request',
    http: 503,
    wire: ServerError.NotAllowedError,
  },
  COMMAND_NOT_SUPPORTED: {
    message: 'command {command} is not supported by this broker',
    retry: 'bad-request',
    http: 400,
    wire: ServerError.NotAllowedError,
  },
  UNEXPECTED_COMMAND: {
    message: 'command {command} is never sent by a client',
    retry: 'bad-request',
    http: 400,
    wire: ServerError.NotAllowedError,
  },
  MALFORMED_COMMAND: {
    message: 'malformed command: {detail}',
    retry: 'bad-request',
    http: 400,
    wire: ServerError.NotAllowedError,
  },
  UNKNOWN_COMMAND: {
    message: 'unknown command: {detail}',
    retry: 'bad-request',
    http: 400,
    wire: ServerError.NotAllowedError,
  },
  PROTOCOL_VIOLATION: { message: '{detail}', retry: 'fatal', http: 400, wire: ServerError.NotAllowedError },
  FRAME_TOO_LARGE: {
    message: 'frame of {size} bytes exceeds the maximum of {max} bytes',
    retry: 'fatal',
    http: 413,
    wire: ServerError.NotAllowedError,
  },
  AUTHENTICATION_FAILED: {
    message: 'authentication failed: {reason}',
    retry: 'bad-request',
    http: 401,
    wire: ServerError.AuthenticationError,
  },
  AUTHORIZATION_FAILED: {
    message: 'role {role} may not {action} on {resource}',
    retry: 'bad-request',
    http: 403,
    wire: ServerError.AuthorizationError,
  },
  NAMESPACE_NOT_FOUND: {
    message: 'namespace {namespace} does not exist',
    retry: 'bad-request',
    http: 404,
    wire: ServerError.TopicNotFound,
  },
  SERVICE_NOT_READY: {
    message: 'broker is {state}',
    retry: 'retryable',
    http: 503,
    wire: ServerError.ServiceNotReady,
  },
  TOO_MANY_REQUESTS: {
    message: '{what} limit reached ({max})',
    retry: 'retryable',
    http: 429,
    wire: ServerError.TooManyRequests,
  },
  INTERNAL: {
    message: 'internal error: {reason}',
    retry: 'retryable',
    http: 500,
    wire: ServerError.ServiceNotReady,
  },
});

export type BrokerErrorCode = keyof typeof brokerErrors.specs;

/** Managed-ledger error codes → ServerError (their registry's wire numbers are not Pulsar's). */
const ML_CODES: Record<string, ServerError> = {
  MANAGED_LEDGER_FENCED: ServerError.ServiceNotReady,
  MANAGED_LEDGER_TERMINATED: ServerError.TopicTerminatedError,
  MANAGED_LEDGER_CLOSED: ServerError.ServiceNotReady,
  MANAGED_LEDGER_DELETED: ServerError.TopicNotFound,
  MANAGED_LEDGER_NOT_FOUND: ServerError.TopicNotFound,
  TOO_MANY_PENDING_APPENDS: ServerError.TooManyRequests,
  ENTRY_TOO_LARGE: ServerError.NotAllowedError,
  APPEND_FAILED: ServerError.PersistenceError,
  READ_FAILED: ServerError.PersistenceError,
  METADATA_ERROR: ServerError.MetadataError,
  CORRUPT_METADATA: ServerError.MetadataError,
  INVALID_NAME: ServerError.InvalidTopicName,
  INVALID_CONFIG: ServerError.NotAllowedError,
  INVALID_POSITION: ServerError.NotAllowedError,
  CURSOR_NOT_FOUND: ServerError.SubscriptionNotFound,
  CURSOR_CLOSED: ServerError.ServiceNotReady,
  TOO_MANY_CURSORS: ServerError.NotAllowedError,
  FACTORY_SHUT_DOWN: ServerError.ServiceNotReady,
};

/** The wire code and message for any error reaching a client. */
export function toServerError(err: unknown): { code: ServerError; message: string } {
  if (isMagnetarError(err)) {
    const e = err as MagnetarError;
    if (e.code in brokerErrors.specs) return { code: e.spec.wire as ServerError, message: e.message };
    const mapped = ML_CODES[e.code];
    if (mapped !== undefined) return { code: mapped, message: e.message };
    // Registries whose wire codes are Pulsar ServerErrors (lib/auth: AuthenticationError 3,
    // lib/cluster: NOT_OWNER → ServiceNotReady). Others (lib/ledger: bookie statuses) are not.
    const pulsarCoded = e.code in authErrors.specs || e.code in ClusterErrors.specs;
    if (pulsarCoded && typeof e.spec.wire === 'number' && e.spec.wire > 0) {
      return { code: e.spec.wire as ServerError, message: e.message };
    }
    return { code: ServerError.ServiceNotReady, message: e.message };
  }
  // Never code 0 (UnknownError): some clients take a zero error code for success.
  return {
    code: ServerError.ServiceNotReady,
    message: `internal error: ${(err as Error)?.message ?? String(err)}`,
  };
}
