/**
 * The admin API's own error codes (request-level problems). Domain errors come from
 * lib/policies (policyErrors), lib/auth (authErrors), lib/cluster and lib/metadata registries;
 * every MagnetarError with an `http` status is rendered as that status + {"reason": message}.
 * README.md lists every code with its status.
 */
import { defineErrors } from '../../../lib/errors/index.ts';

export const adminErrors = defineErrors({
  NOT_FOUND: { message: 'No such resource: {method} {path}', retry: 'bad-request', http: 404 },
  MALFORMED_JSON: { message: 'Request body is not valid JSON: {why}', retry: 'bad-request', http: 400 },
  BODY_TOO_LARGE: { message: 'Request body larger than {limit} bytes', retry: 'bad-request', http: 413 },
  BAD_PARAMETER: { message: 'Invalid parameter {name}: {why}', retry: 'bad-request', http: 400 },
  BAD_REQUEST: { message: '{why}', retry: 'bad-request', http: 400 },
  TOPIC_NOT_FOUND: { message: 'Topic {topic} not found', retry: 'bad-request', http: 404 },
  TOPIC_EXISTS: { message: 'Topic {topic} already exists', retry: 'bad-request', http: 409 },
  TOPIC_IS_PARTITIONED: {
    message: 'Topic {topic} is a partitioned topic; use the partitions endpoints',
    retry: 'bad-request',
    http: 409,
  },
  TOPIC_IN_USE: {
    message: 'Topic has active producers/subscriptions: {topic}',
    retry: 'bad-request',
    http: 412,
  },
  SUBSCRIPTION_NOT_FOUND: {
    message: 'Subscription {subscription} not found',
    retry: 'bad-request',
    http: 404,
  },
  SUBSCRIPTION_EXISTS: {
    message: 'Subscription {subscription} already exists',
    retry: 'bad-request',
    http: 409,
  },
  SUBSCRIPTION_IN_USE: {
    message: 'Subscription {subscription} has active consumers',
    retry: 'bad-request',
    http: 412,
  },
  NOT_ALLOWED_FOR_DOMAIN: {
    message: '{operation} is not allowed on {domain} topics',
    retry: 'bad-request',
    http: 405,
  },
  NO_LEADER: { message: 'No leader broker is elected', retry: 'retryable', http: 404 },
  TOPIC_SERVICE_UNAVAILABLE: {
    message: 'This process serves no topics (no broker data path attached)',
    retry: 'not-owner',
    http: 503,
  },
  PARTITION_OWNER_FAILED: {
    message: 'Broker {owner} answered {status} for {topic}: {reason}',
    retry: 'retryable',
    http: 502,
  },
  NOT_READY: { message: 'Broker is not ready: {why}', retry: 'retryable', http: 503 },
  UNHEALTHY: { message: 'Broker health check failed: {why}', retry: 'retryable', http: 503 },
  INTERNAL: { message: 'Internal error', retry: 'retryable', http: 500 },
});

export type AdminErrorCode = keyof typeof adminErrors.specs;
