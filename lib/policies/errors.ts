/**
 * Error registry of the multi-tenancy data model. The HTTP codes are the ones Pulsar's admin API
 * answers (pulsar-features.md §2.1); the admin server renders them as `{"reason": message}`.
 */
import { defineErrors } from '../errors/index.ts';

export const policyErrors = defineErrors({
  INVALID_NAME: { message: 'Invalid {kind} name "{name}"', retry: 'bad-request', http: 412 },
  INVALID_POLICY: { message: 'Invalid value for {policy}: {why}', retry: 'bad-request', http: 412 },
  BAD_BODY: { message: 'Malformed request body: {why}', retry: 'bad-request', http: 400 },
  CLUSTER_NOT_FOUND: { message: 'Cluster {cluster} does not exist', retry: 'bad-request', http: 404 },
  CLUSTER_EXISTS: { message: 'Cluster {cluster} already exists', retry: 'bad-request', http: 409 },
  CLUSTER_IN_USE: {
    message: 'Cluster {cluster} is still used by tenant {tenant}',
    retry: 'bad-request',
    http: 412,
  },
  TENANT_NOT_FOUND: { message: 'Tenant {tenant} does not exist', retry: 'bad-request', http: 404 },
  TENANT_EXISTS: { message: 'Tenant {tenant} already exists', retry: 'bad-request', http: 409 },
  TENANT_NOT_EMPTY: {
    message: 'The tenant {tenant} still has {count} namespace(s)',
    retry: 'bad-request',
    http: 409,
  },
  CLUSTERS_EMPTY: { message: 'Clusters can not be empty', retry: 'bad-request', http: 412 },
  UNKNOWN_CLUSTERS: { message: 'Clusters do not exist: {clusters}', retry: 'bad-request', http: 412 },
  CLUSTER_NOT_ALLOWED: {
    message: 'Cluster {cluster} is not in the list of allowed clusters of tenant {tenant}',
    retry: 'bad-request',
    http: 403,
  },
  NAMESPACE_NOT_FOUND: { message: 'Namespace {namespace} does not exist', retry: 'bad-request', http: 404 },
  NAMESPACE_EXISTS: { message: 'Namespace {namespace} already exists', retry: 'bad-request', http: 409 },
  NAMESPACE_NOT_EMPTY: {
    message: 'Cannot delete non empty namespace {namespace} ({count} topic(s))',
    retry: 'bad-request',
    http: 409,
  },
  RETENTION_BELOW_QUOTA: {
    message: 'Retention Quota must exceed configured backlog quota for namespace {namespace}',
    retry: 'bad-request',
    http: 412,
  },
  QUOTA_ABOVE_RETENTION: {
    message: 'Backlog Quota exceeds configured retention quota for namespace {namespace}',
    retry: 'bad-request',
    http: 412,
  },
  PARTITIONED_TOPIC_EXISTS: {
    message: 'Partitioned topic {topic} already exists',
    retry: 'bad-request',
    http: 409,
  },
  PARTITIONED_TOPIC_NOT_FOUND: {
    message: 'Partitioned topic {topic} does not exist',
    retry: 'bad-request',
    http: 404,
  },
  INVALID_PARTITIONS: {
    message: 'Number of partitions must be between 1 and {max}, got {partitions}',
    retry: 'bad-request',
    http: 406,
  },
  PARTITIONS_NOT_INCREASED: {
    message: 'Number of partitions can only be increased: {topic} has {current}, asked {partitions}',
    retry: 'bad-request',
    http: 406,
  },
  PERMISSION_ONLY_ON_NAMESPACE: {
    message: 'Role {role} has permissions on namespace {namespace} only; revoke them there',
    retry: 'bad-request',
    http: 412,
  },
  PERMISSION_NOT_FOUND: {
    message: 'Role {role} has no permission on {resource}',
    retry: 'bad-request',
    http: 404,
  },
  BUNDLE_NOT_FOUND: {
    message: 'Bundle {bundle} is not a bundle of namespace {namespace}',
    retry: 'bad-request',
    http: 404,
  },
  TOO_MANY_BUNDLES: {
    message: 'Namespace {namespace} would exceed {max} bundles',
    retry: 'bad-request',
    http: 412,
  },
  CONCURRENT_MODIFICATION: {
    message: 'Concurrent modification of {what}',
    retry: 'retryable',
    http: 409,
  },
  METADATA_CORRUPT: {
    message: 'Stored value of {key} is not valid: {why}',
    retry: 'fatal',
    http: 500,
  },
});

export type PolicyErrorCode = keyof typeof policyErrors.specs;
