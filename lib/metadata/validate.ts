/**
 * Argument checks shared by both store implementations, so both refuse exactly the same inputs
 * with the same codes (the contract suite checks this).
 */
import { MetadataErrors } from './errors.ts';
import type { MetadataLimits } from './limits.ts';
import type { TxnOp, Version } from './store.ts';

const encoder = new TextEncoder();

export const byteLength = (s: string) => encoder.encode(s).length;

/** A full key: starts with '/', no empty component, no NUL, within maxKeyBytes. */
export function checkKey(key: string, limits: MetadataLimits): void {
  if (typeof key !== 'string' || !key.startsWith('/') || key.length < 2) {
    throw MetadataErrors.make('INVALID_KEY', {
      what: 'key',
      value: JSON.stringify(key),
      why: 'must start with "/"',
    });
  }
  checkCommon(key, limits, 'key');
  if (key.endsWith('/') || key.includes('//')) {
    throw MetadataErrors.make('INVALID_KEY', {
      what: 'key',
      value: JSON.stringify(key),
      why: 'empty path component',
    });
  }
}

/** A prefix for list/watch/deletePrefix: starts with '/', may end with '/'. */
export function checkPrefix(prefix: string, limits: MetadataLimits): void {
  if (typeof prefix !== 'string' || !prefix.startsWith('/')) {
    throw MetadataErrors.make('INVALID_KEY', {
      what: 'prefix',
      value: JSON.stringify(prefix),
      why: 'must start with "/"',
    });
  }
  checkCommon(prefix, limits, 'prefix');
}

function checkCommon(s: string, limits: MetadataLimits, what: string): void {
  if (s.includes('\0')) {
    throw MetadataErrors.make('INVALID_KEY', { what, value: JSON.stringify(s), why: 'contains NUL' });
  }
  if (!s.isWellFormed()) {
    throw MetadataErrors.make('INVALID_KEY', {
      what,
      value: JSON.stringify(s),
      why: 'not well-formed Unicode',
    });
  }
  const bytes = byteLength(s);
  if (bytes > limits.maxKeyBytes) {
    throw MetadataErrors.make('INVALID_KEY', {
      what,
      value: JSON.stringify(s.slice(0, 64)),
      why: `${bytes} bytes, above maxKeyBytes ${limits.maxKeyBytes}`,
    });
  }
}

export function checkValue(key: string, value: Uint8Array, limits: MetadataLimits): void {
  if (!(value instanceof Uint8Array)) {
    throw MetadataErrors.make('INVALID_ARGUMENT', { what: `value of ${key}`, why: 'must be a Uint8Array' });
  }
  if (value.byteLength > limits.maxValueBytes) {
    throw MetadataErrors.make('VALUE_TOO_LARGE', {
      key,
      bytes: value.byteLength,
      maxBytes: limits.maxValueBytes,
    });
  }
}

export function checkExpectedVersion(
  key: string,
  v: Version | 'absent' | undefined,
  absentOk: boolean,
): void {
  if (v === undefined || (absentOk && v === 'absent')) return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw MetadataErrors.make('INVALID_ARGUMENT', {
      what: `expectedVersion of ${key}`,
      why: `${JSON.stringify(v)} is not a version${absentOk ? " or 'absent'" : ''}`,
    });
  }
}

export function checkTxn(ops: readonly TxnOp[], limits: MetadataLimits): void {
  if (!Array.isArray(ops) || ops.length === 0) {
    throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'txn', why: 'needs at least one op' });
  }
  let bytes = 0;
  const written = new Set<string>();
  for (const op of ops) {
    checkKey(op.key, limits);
    bytes += byteLength(op.key);
    switch (op.op) {
      case 'put':
        checkValue(op.key, op.value, limits);
        checkExpectedVersion(op.key, op.expectedVersion, true);
        bytes += op.value.byteLength;
        break;
      case 'delete':
        checkExpectedVersion(op.key, op.expectedVersion, false);
        break;
      case 'check':
        if (op.expectedVersion === undefined) {
          throw MetadataErrors.make('INVALID_ARGUMENT', {
            what: `check of ${op.key}`,
            why: 'needs expectedVersion',
          });
        }
        checkExpectedVersion(op.key, op.expectedVersion, true);
        break;
      default:
        throw MetadataErrors.make('INVALID_ARGUMENT', {
          what: 'txn op',
          why: `unknown op ${(op as TxnOp).op}`,
        });
    }
    if (op.op !== 'check') {
      if (written.has(op.key)) {
        throw MetadataErrors.make('INVALID_ARGUMENT', { what: 'txn', why: `key ${op.key} is written twice` });
      }
      written.add(op.key);
    }
  }
  if (ops.length > limits.maxTxnOps || bytes > limits.maxTxnBytes) {
    throw MetadataErrors.make('TXN_TOO_LARGE', {
      ops: ops.length,
      bytes,
      maxOps: limits.maxTxnOps,
      maxBytes: limits.maxTxnBytes,
    });
  }
}

export function checkTtl(ttlMs: number, limits: MetadataLimits): void {
  if (!Number.isInteger(ttlMs) || ttlMs < limits.minSessionTtlMs || ttlMs > limits.maxSessionTtlMs) {
    throw MetadataErrors.make('INVALID_ARGUMENT', {
      what: 'session ttlMs',
      why: `${ttlMs} is not an integer in ${limits.minSessionTtlMs} … ${limits.maxSessionTtlMs}`,
    });
  }
}

/** The page size to use: the caller's limit bounded by maxPageSize. */
export function pageSize(limit: number | undefined, limits: MetadataLimits): number {
  if (limit === undefined) return limits.maxPageSize;
  if (!Number.isInteger(limit) || limit < 1) {
    throw MetadataErrors.make('INVALID_ARGUMENT', {
      what: 'list limit',
      why: `${limit} is not a positive integer`,
    });
  }
  return Math.min(limit, limits.maxPageSize);
}

/** A failed CAS condition, as the error the contract prescribes. */
export function casFailure(
  key: string,
  expected: Version | 'absent' | undefined,
  actual: Version | undefined,
): Error {
  if (expected === 'absent') return MetadataErrors.make('KEY_EXISTS', { key, actual });
  if (actual === undefined) return MetadataErrors.make('NO_SUCH_KEY', { key, expected });
  return MetadataErrors.make('BAD_VERSION', { key, expected, actual });
}

/** True when a CAS condition holds for a key currently at `actual` (undefined = absent). */
export function conditionHolds(
  expected: Version | 'absent' | undefined,
  actual: Version | undefined,
): boolean {
  if (expected === undefined) return true;
  if (expected === 'absent') return actual === undefined;
  return actual === expected;
}
