/**
 * The ledger client's error registry. A caller decides from the code and its retry class:
 * - `fenced`: a newer writer or a recovery owns the ledger; stop writing to it. An append that
 *   failed with LEDGER_FENCED may or may not be durable (internals.md §1.8): treat it as unknown.
 * - `retryable`: the same call may succeed later (bookies down, timeouts, store unavailable).
 * - `bad-request`: the call itself is wrong (bad quorum, entry beyond the LAC, wrong password).
 * - `fatal`: stored data or metadata is not what the protocol allows; needs a human.
 */
import { Status } from '../gen/magnetar/bookie/v1/bookie_pb.ts';
import { defineErrors, type MagnetarError } from '../errors/index.ts';

export const LedgerErrors = defineErrors({
  LEDGER_FENCED: {
    message:
      'ledger {ledgerId} is fenced or in recovery by another client; outcome of pending appends unknown',
    retry: 'fenced',
    wire: Status.FENCED,
  },
  LEDGER_CLOSED: { message: 'ledger {ledgerId} is closed', retry: 'fenced' },
  NOT_ENOUGH_BOOKIES: {
    message: 'not enough writable bookies: need {needed}, have {available}',
    retry: 'retryable',
  },
  BAD_VERSION: { message: 'ledger {ledgerId} metadata changed concurrently', retry: 'retryable' },
  DIGEST_MISMATCH: {
    message: 'entry {entryId} of ledger {ledgerId} failed verification ({problem}) on every bookie',
    retry: 'fatal',
    wire: Status.DIGEST_MISMATCH,
  },
  ENTRY_NOT_CONFIRMED: {
    message: 'entry {entryId} of ledger {ledgerId} is beyond the last confirmed entry {lastAddConfirmed}',
    retry: 'bad-request',
  },
  TIMEOUT: { message: '{operation} on ledger {ledgerId} timed out after {timeoutMs} ms', retry: 'retryable' },
  NO_SUCH_LEDGER: { message: 'ledger {ledgerId} does not exist', retry: 'bad-request' },
  INVALID_QUORUM: {
    message: 'invalid quorum E={ensembleSize} Qw={writeQuorum} Qa={ackQuorum}: need E >= Qw >= Qa >= 1',
    retry: 'bad-request',
  },
  UNAUTHORIZED: {
    message: 'wrong password for ledger {ledgerId}',
    retry: 'bad-request',
    wire: Status.UNAUTHORIZED,
  },
  ENTRY_TOO_LARGE: {
    message: 'entry of {bytes} bytes exceeds the limit of {maxBytes}',
    retry: 'bad-request',
  },
  READ_FAILED: {
    message: 'entry {entryId} of ledger {ledgerId} could not be read from any bookie ({reason})',
    retry: 'retryable',
  },
  RECOVERY_FAILED: {
    message: 'recovery of ledger {ledgerId} did not complete: {reason}',
    retry: 'retryable',
  },
  TOO_MANY_ENSEMBLE_CHANGES: {
    message: 'ledger {ledgerId} reached the limit of {max} ensemble changes',
    retry: 'retryable',
  },
  TOO_MANY_PENDING_ADDS: {
    message: 'ledger {ledgerId} has {pending} appends waiting (limit {max})',
    retry: 'retryable',
  },
  ADD_FAILED: {
    message: 'append to ledger {ledgerId} failed: bookie {bookieId} answered {status}',
    retry: 'fatal',
  },
  INVALID_FRAGMENT: {
    message:
      'ledger {ledgerId}: refusing an ensemble change that would start a fragment at {firstEntryId} before the last one at {lastFirstEntryId}',
    retry: 'fatal',
  },
  METADATA_CORRUPT: { message: 'ledger {ledgerId} metadata is invalid: {reason}', retry: 'fatal' },
  METADATA_UNAVAILABLE: { message: 'metadata store unavailable for ledger {ledgerId}', retry: 'retryable' },
  BAD_RANGE: {
    message: 'bad read range {first}..{last} of ledger {ledgerId}: {reason}',
    retry: 'bad-request',
  },
  HANDLE_RELEASED: {
    message: 'the handle of ledger {ledgerId} was released or closed',
    retry: 'bad-request',
  },
  CLIENT_CLOSED: { message: 'the ledger client is closed', retry: 'fatal' },
  HANDLE_BROKEN: {
    message: 'ledger {ledgerId} handle failed earlier ({cause}); open a new ledger',
    retry: 'retryable',
  },
});

export type LedgerErrorCode = keyof typeof LedgerErrors.specs;

export function ledgerError(
  code: LedgerErrorCode,
  details: Record<string, unknown> = {},
  cause?: unknown,
): MagnetarError {
  return LedgerErrors.make(code, details, cause);
}

/** The code of a MagnetarError (from any registry), or undefined. */
export function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined;
}
