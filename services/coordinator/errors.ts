/** Error registry of the coordinator process (cluster-control errors are in lib/cluster/errors.ts). */
import { defineErrors } from '../../lib/errors/index.ts';

export const CoordinatorErrors = defineErrors({
  NOT_LEADER: {
    message: 'coordinator {coordinator} is not the leader (leader: {leader})',
    retry: 'not-owner',
    http: 421,
  },
  STARTUP_FAILED: {
    message: 'coordinator could not start: {why}',
    retry: 'fatal',
    http: 500,
  },
  NO_REPLACEMENT_BOOKIE: {
    message: 'no writable bookie outside {ensemble} is available to replace {bookie} in ledger {ledgerId}',
    retry: 'retryable',
    http: 503,
  },
  FRAGMENT_UNREADABLE: {
    message: 'ledger {ledgerId} entry {entryId} could not be read from any surviving bookie ({tried}): {why}',
    retry: 'retryable',
    http: 503,
  },
  FRAGMENT_WRITE_FAILED: {
    message: 'ledger {ledgerId}: copying entries to {bookie} failed: {why}',
    retry: 'retryable',
    http: 503,
  },
  LEDGER_METADATA_CONFLICT: {
    message: 'ledger {ledgerId} metadata changed during re-replication ({why}); will retry',
    retry: 'retryable',
    http: 409,
  },
});

export type CoordinatorErrorCode = keyof typeof CoordinatorErrors.specs;
