/** Public surface of the multi-tenancy data model (see README.md). */
export * from './backlog-quota.ts';
export * from './broker-provider.ts';
export * from './bundles.ts';
export * from './defaults.ts';
export * from './errors.ts';
export * from './lifecycle.ts';
export * from './names.ts';
export * from './namespaces.ts';
export * from './partitioned.ts';
export * from './permissions.ts';
export * from './rate-limiter.ts';
export * from './resolve.ts';
export * from './store.ts';
export * from './topic-policies.ts';
export type * from './types.ts';
export * from './validate.ts';
