/** Entry point of the managed ledger: the API types, the factory, the errors and the settings. */
export * from './api.ts';
export { type MlErrorCode, mlErrors } from './errors.ts';
export { createManagedLedgerFactory, type ManagedLedgerFactoryOptions } from './factory.ts';
export {
  defaultSettings,
  type ManagedLedgerSettings,
  managedLedgerSettings,
  resolveTopicConfig,
} from './limits.ts';
