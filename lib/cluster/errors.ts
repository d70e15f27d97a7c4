/**
 * The cluster-control error registry (bundle ownership, lookup, broker registry, split/unload).
 * Wire codes are Pulsar ServerError numbers: a broker answering a LOOKUP, PRODUCER or SUBSCRIBE with
 * one of these uses `spec.wire`; HTTP handlers use `spec.http`.
 */
import { defineErrors } from '../errors/index.ts';

/** Pulsar ServerError values used here (pulsar-protocol.md §2.2). */
export const PulsarServerError = {
  MetadataError: 1,
  ServiceNotReady: 6,
  TopicNotFound: 11,
  TooManyRequests: 14,
  InvalidTopicName: 17,
  NotAllowedError: 22,
} as const;

export const ClusterErrors = defineErrors({
  INVALID_TOPIC_NAME: {
    message: 'invalid topic name "{topic}": {why}',
    retry: 'bad-request',
    http: 412,
    wire: PulsarServerError.InvalidTopicName,
  },
  INVALID_NAMESPACE: {
    message: 'invalid namespace "{namespace}": {why}',
    retry: 'bad-request',
    http: 412,
    wire: PulsarServerError.InvalidTopicName,
  },
  NAMESPACE_NOT_FOUND: {
    message: 'namespace {namespace} does not exist',
    retry: 'bad-request',
    http: 404,
    wire: PulsarServerError.TopicNotFound,
  },
  INVALID_BUNDLE: {
    message: 'invalid bundle "{bundle}": {why}',
    retry: 'bad-request',
    http: 412,
    wire: PulsarServerError.NotAllowedError,
  },
  BUNDLE_NOT_FOUND: {
    message: 'bundle {bundle} is not a bundle of namespace {namespace} (boundaries {boundaries})',
    retry: 'bad-request',
    http: 404,
    wire: PulsarServerError.NotAllowedError,
  },
  BUNDLE_NOT_SPLITTABLE: {
    message: 'bundle {bundle} cannot be split: {why}',
    retry: 'bad-request',
    http: 412,
    wire: PulsarServerError.NotAllowedError,
  },
  NOT_OWNER: {
    message: 'this broker ({broker}) does not own bundle {bundle} (state {state}); look the topic up again',
    retry: 'not-owner',
    http: 503,
    wire: PulsarServerError.ServiceNotReady,
  },
  BUNDLE_IN_TRANSITION: {
    message: 'bundle {bundle} is {state}; try again shortly',
    retry: 'retryable',
    http: 503,
    wire: PulsarServerError.ServiceNotReady,
  },
  BUNDLE_NOT_OWNED: {
    message: 'bundle {bundle} is not owned by any broker (state {state})',
    retry: 'bad-request',
    http: 412,
    wire: PulsarServerError.ServiceNotReady,
  },
  TRANSITION_REJECTED: {
    message: 'bundle {bundle}: transition {transition} is not allowed from state {state}: {why}',
    retry: 'retryable',
    http: 409,
    wire: PulsarServerError.ServiceNotReady,
  },
  NO_BROKERS: {
    message: 'no live broker is available to own bundle {bundle}',
    retry: 'retryable',
    http: 503,
    wire: PulsarServerError.ServiceNotReady,
  },
  LOOKUP_CONTENDED: {
    message: 'lookup of {topic} did not settle after {attempts} attempts (last state {state})',
    retry: 'retryable',
    http: 503,
    wire: PulsarServerError.ServiceNotReady,
  },
  TOO_MANY_LOOKUPS: {
    message: 'too many lookups in progress on this broker ({limit}); retry',
    retry: 'retryable',
    http: 429,
    wire: PulsarServerError.TooManyRequests,
  },
  METADATA_UNAVAILABLE: {
    message: 'metadata store unavailable during {operation}',
    retry: 'retryable',
    http: 503,
    wire: PulsarServerError.MetadataError,
  },
  BROKER_ID_IN_USE: {
    message: 'broker id {broker} is still registered by another session ({session}) after {waitedMs} ms',
    retry: 'fatal',
    http: 409,
    wire: PulsarServerError.ServiceNotReady,
  },
  SERVICE_CLOSED: {
    message: 'ownership service of broker {broker} is {state}',
    retry: 'retryable',
    http: 503,
    wire: PulsarServerError.ServiceNotReady,
  },
  CORRUPT_RECORD: {
    message: 'metadata record at {key} cannot be decoded: {why}',
    retry: 'fatal',
    http: 500,
    wire: PulsarServerError.MetadataError,
  },
  TOO_MANY_BUNDLES: {
    message: 'namespace {namespace} already has {count} bundles (maximum {max})',
    retry: 'bad-request',
    http: 412,
    wire: PulsarServerError.NotAllowedError,
  },
});

export type ClusterErrorCode = keyof typeof ClusterErrors.specs;
