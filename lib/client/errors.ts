/**
 * The client's error registry. Every error the client library raises is a MagnetarError with a
 * stable code from this table: its retry class says whether the same call may succeed later, and
 * `wire` is the Pulsar ServerError when the error came from the broker. `fromServerError` maps the
 * broker's ServerError codes to these codes; the broker's message text is kept in `details.message`.
 */
import { defineErrors, type MagnetarError } from '../errors/index.ts';
import { ServerError } from '../wire/protocol.ts';

export const clientErrors = defineErrors({
  // -- local: options, state, limits
  INVALID_OPTION: { message: 'invalid option {option}: {reason}', retry: 'bad-request' },
  INVALID_TOPIC_NAME: { message: '{detail}', retry: 'bad-request', wire: ServerError.InvalidTopicName },
  INVALID_SERVICE_URL: {
    message: 'invalid service URL "{url}": {reason}',
    retry: 'bad-request',
  },
  INVALID_MESSAGE_ID: { message: 'invalid message id "{id}": {reason}', retry: 'bad-request' },
  ALREADY_CLOSED: { message: '{what} is closed', retry: 'fatal' },
  NOT_SUPPORTED: { message: '{operation} is not supported: {reason}', retry: 'bad-request' },
  MESSAGE_TOO_BIG: {
    message: 'message of {bytes} bytes exceeds the maximum message size of {maxBytes} bytes',
    retry: 'bad-request',
  },
  PRODUCER_QUEUE_FULL: {
    message: 'producer {producer} on {topic} has {pending} messages pending (maxPendingMessages {max})',
    retry: 'retryable',
  },
  TIMEOUT: { message: '{operation} timed out after {timeoutMs} ms', retry: 'retryable' },
  SEND_TIMEOUT: {
    message: 'send on {topic} timed out after {timeoutMs} ms without a receipt from the broker',
    retry: 'retryable',
  },
  // -- connection and lookup
  CONNECT_FAILED: { message: 'cannot connect to {address}: {reason}', retry: 'retryable' },
  CONNECTION_CLOSED: { message: 'connection to {address} closed: {reason}', retry: 'retryable' },
  PROTOCOL_ERROR: { message: 'protocol error from {address}: {detail}', retry: 'retryable' },
  LOOKUP_FAILED: { message: 'lookup of {topic} failed: {reason}', retry: 'retryable' },
  TOO_MANY_REDIRECTS: {
    message: 'lookup of {topic} was redirected more than {max} times',
    retry: 'retryable',
  },
  // -- consumer-side data problems (the message is discarded and redelivered)
  CORRUPT_MESSAGE: { message: 'message {messageId} on {topic} discarded: {reason}', retry: 'retryable' },
  // -- broker ServerError codes
  BROKER_UNKNOWN_ERROR: {
    message: 'broker error: {message}',
    retry: 'retryable',
    wire: ServerError.UnknownError,
  },
  BROKER_METADATA_ERROR: {
    message: 'broker metadata error: {message}',
    retry: 'retryable',
    wire: ServerError.MetadataError,
  },
  BROKER_PERSISTENCE_ERROR: {
    message: 'broker persistence error: {message}',
    retry: 'retryable',
    wire: ServerError.PersistenceError,
  },
  AUTHENTICATION_FAILED: {
    message: 'authentication failed: {message}',
    retry: 'bad-request',
    wire: ServerError.AuthenticationError,
  },
  AUTHORIZATION_FAILED: {
    message: 'not authorized: {message}',
    retry: 'bad-request',
    wire: ServerError.AuthorizationError,
  },
  CONSUMER_BUSY: {
    message: 'subscription is busy: {message}',
    retry: 'bad-request',
    wire: ServerError.ConsumerBusy,
  },
  SERVICE_NOT_READY: {
    message: 'broker not ready: {message}',
    retry: 'retryable',
    wire: ServerError.ServiceNotReady,
  },
  PRODUCER_BLOCKED_QUOTA_EXCEEDED: {
    message: 'producer blocked, backlog quota exceeded: {message}',
    retry: 'retryable',
    wire: ServerError.ProducerBlockedQuotaExceededError,
  },
  PRODUCER_QUOTA_EXCEEDED: {
    message: 'backlog quota exceeded: {message}',
    retry: 'bad-request',
    wire: ServerError.ProducerBlockedQuotaExceededException,
  },
  CHECKSUM_ERROR: {
    message: 'broker rejected the checksum: {message}',
    retry: 'retryable',
    wire: ServerError.ChecksumError,
  },
  UNSUPPORTED_VERSION: {
    message: 'unsupported protocol version: {message}',
    retry: 'fatal',
    wire: ServerError.UnsupportedVersionError,
  },
  TOPIC_NOT_FOUND: {
    message: 'topic not found: {message}',
    retry: 'bad-request',
    wire: ServerError.TopicNotFound,
  },
  SUBSCRIPTION_NOT_FOUND: {
    message: 'subscription not found: {message}',
    retry: 'bad-request',
    wire: ServerError.SubscriptionNotFound,
  },
  CONSUMER_NOT_FOUND: {
    message: 'consumer not found: {message}',
    retry: 'bad-request',
    wire: ServerError.ConsumerNotFound,
  },
  TOO_MANY_REQUESTS: {
    message: 'too many requests: {message}',
    retry: 'retryable',
    wire: ServerError.TooManyRequests,
  },
  TOPIC_TERMINATED: {
    message: 'topic terminated: {message}',
    retry: 'bad-request',
    wire: ServerError.TopicTerminatedError,
  },
  PRODUCER_BUSY: {
    message: 'producer busy: {message}',
    retry: 'bad-request',
    wire: ServerError.ProducerBusy,
  },
  BROKER_INVALID_TOPIC_NAME: {
    message: 'invalid topic name: {message}',
    retry: 'bad-request',
    wire: ServerError.InvalidTopicName,
  },
  INCOMPATIBLE_SCHEMA: {
    message: 'incompatible schema: {message}',
    retry: 'bad-request',
    wire: ServerError.IncompatibleSchema,
  },
  CONSUMER_ASSIGN_ERROR: {
    message: 'consumer assignment failed: {message}',
    retry: 'bad-request',
    wire: ServerError.ConsumerAssignError,
  },
  NOT_ALLOWED: { message: 'not allowed: {message}', retry: 'bad-request', wire: ServerError.NotAllowedError },
  PRODUCER_FENCED: {
    message: 'producer fenced: {message}',
    retry: 'fenced',
    wire: ServerError.ProducerFenced,
  },
  BROKER_OTHER_ERROR: { message: 'broker error {code}: {message}', retry: 'bad-request' },
});

export type ClientErrorCode = keyof typeof clientErrors.specs;

const BY_SERVER_ERROR = new Map<number, ClientErrorCode>();
for (const [code, spec] of Object.entries(clientErrors.specs) as [ClientErrorCode, { wire?: number }][]) {
  if (spec.wire !== undefined && code !== 'INVALID_TOPIC_NAME') BY_SERVER_ERROR.set(spec.wire, code);
}

/** The client error for a broker ServerError code and message. */
export function fromServerError(
  error: number,
  message: string,
  details: Record<string, unknown> = {},
): MagnetarError {
  const code = BY_SERVER_ERROR.get(error) ?? 'BROKER_OTHER_ERROR';
  return clientErrors.make(code, { ...details, code: error, message: message || '(no message)' });
}

/** True when the error says the same operation may succeed if retried (after a reconnect or backoff). */
export function isRetryable(err: unknown): boolean {
  const retry = (err as { retry?: string } | undefined)?.retry;
  return retry === 'retryable' || retry === 'not-owner';
}
