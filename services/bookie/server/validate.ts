/**
 * Request validation: every field a client sends is checked here before it reaches storage, and
 * every failure is a coded BookieError (errors.ts), answered with its Status.
 */
import { ENVELOPE_OVERHEAD_BYTES } from '../../../lib/ledger/envelope.ts';
import type { BookieConfig } from '../config.ts';
import { BookieErrors } from '../errors.ts';
import { envelopeDigestOk } from '../journal/crc.ts';
import { readSafeInt64BE } from '../journal/frame.ts';
import type { RangeStride } from '../storage/reader.ts';
import { rawId, type WireAdd } from './add-codec.ts';

const MAX_ID = BigInt(Number.MAX_SAFE_INTEGER);

export function ledgerIdOf(v: bigint): number {
  if (typeof v !== 'bigint' || v < 0n || v > MAX_ID) {
    throw BookieErrors.make('BOOKIE_BAD_LEDGER_ID', { ledgerId: String(v) });
  }
  return Number(v);
}

/** An entry id; `allowLast` admits -1 ("the last entry"). */
export function entryIdOf(v: bigint, allowLast = false): number {
  if (typeof v !== 'bigint' || v < (allowLast ? -1n : 0n) || v > MAX_ID) {
    throw BookieErrors.make('BOOKIE_BAD_ENTRY_ID', {
      entryId: String(v),
      why: allowLast ? 'must be -1 or 0 .. 2^53-1' : 'must be 0 .. 2^53-1',
    });
  }
  return Number(v);
}

/** A LAC value: -1 (none) .. 2^53-1. */
export function lacOf(v: bigint, field: string): number {
  if (typeof v !== 'bigint' || v < -1n || v > MAX_ID) {
    throw BookieErrors.make('BOOKIE_BAD_REQUEST', { why: `${field} ${String(v)} must be -1 .. 2^53-1` });
  }
  return Number(v);
}

/** Largest stride period (ensemble size) a striped ReadRange may ask for. */
export const MAX_STRIDE_PERIOD = 1024;

/** The stride of a ReadRange (bookie.proto ReadRangeRequest): undefined = consecutive entries. */
export function strideOf(req: {
  stridePeriod: number;
  strideRun: number;
  firstRunPosition: number;
}): RangeStride | undefined {
  const { stridePeriod: period, strideRun: run, firstRunPosition: position } = req;
  if (period === 0) {
    if (run !== 0 || position !== 0)
      throw BookieErrors.make('BOOKIE_BAD_REQUEST', {
        why: 'stride_run/first_run_position without stride_period',
      });
    return undefined;
  }
  if (period > MAX_STRIDE_PERIOD || run < 1 || run > period || position >= run) {
    throw BookieErrors.make('BOOKIE_BAD_REQUEST', {
      why: `stride ${run}/${period} from position ${position}: needs 1 <= run <= period <= ${MAX_STRIDE_PERIOD} and position < run`,
    });
  }
  return run === period ? undefined : { period, run, position };
}

export function masterKeyOf(key: Uint8Array, cfg: Pick<BookieConfig, 'maxMasterKeyBytes'>): Uint8Array {
  if (key.byteLength > cfg.maxMasterKeyBytes) {
    throw BookieErrors.make('BOOKIE_BAD_REQUEST', {
      why: `master key of ${key.byteLength} bytes is over ${cfg.maxMasterKeyBytes}`,
    });
  }
  return key;
}

/** Check an add: ids, sizes, the envelope's ids against the request's, and its digest. */
export function validateAdd(
  e: WireAdd,
  src: Buffer,
  cfg: Pick<BookieConfig, 'maxEntryBytes' | 'maxMasterKeyBytes'>,
): void {
  const { ledgerId, entryId, body } = e;
  if (Number.isNaN(ledgerId)) {
    throw BookieErrors.make('BOOKIE_BAD_LEDGER_ID', { ledgerId: rawId(src, e.ledStart, e.ledEnd) });
  }
  if (Number.isNaN(entryId)) {
    throw BookieErrors.make('BOOKIE_BAD_ENTRY_ID', {
      entryId: rawId(src, e.entStart, e.entEnd),
      why: 'must be 0 .. 2^53-1',
    });
  }
  // The limit is on the payload, like the client's entryBytesMax: the envelope adds its header.
  if (body.byteLength > cfg.maxEntryBytes + ENVELOPE_OVERHEAD_BYTES) {
    throw BookieErrors.make('BOOKIE_ENTRY_TOO_LARGE', {
      bytes: body.byteLength - ENVELOPE_OVERHEAD_BYTES,
      maxBytes: cfg.maxEntryBytes,
    });
  }
  if (body.byteLength < ENVELOPE_OVERHEAD_BYTES) {
    throw BookieErrors.make('BOOKIE_BAD_ENVELOPE', {
      why: `${body.byteLength} bytes is shorter than the ${ENVELOPE_OVERHEAD_BYTES}-byte envelope header`,
    });
  }
  if (readSafeInt64BE(body, 0) !== ledgerId || readSafeInt64BE(body, 8) !== entryId) {
    throw BookieErrors.make('BOOKIE_BAD_ENVELOPE', {
      why: `envelope names ${readSafeInt64BE(body, 0)}/${readSafeInt64BE(body, 8)}, request ${ledgerId}/${entryId}`,
    });
  }
  if (!(readSafeInt64BE(body, 16) >= -1)) {
    throw BookieErrors.make('BOOKIE_BAD_ENVELOPE', { why: 'lastAddConfirmed out of range' });
  }
  if (!envelopeDigestOk(body)) throw BookieErrors.make('BOOKIE_DIGEST_MISMATCH', { ledgerId, entryId });
  masterKeyOf(e.masterKey, cfg);
}
