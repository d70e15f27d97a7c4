/**
 * What the journal holds: one frame per record (see frame.ts). Entries carry their envelope as is
 * (the envelope names its ledger and entry); ledger state changes are journalled too, so that a
 * fence or a master key is as durable as the entries it guards.
 */
import { ENVELOPE_OVERHEAD_BYTES } from '../../../lib/ledger/envelope.ts';
import { type Frame, readInt53LE, readSafeInt64BE, writeInt53LE } from './frame.ts';

export const RecordType = {
  ENTRY: 1,
  MASTER_KEY: 2,
  FENCE: 3,
  DELETE: 4,
  /** Last frame of a journal file that was rotated or had its torn tail cut. */
  END: 5,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export type JournalRecord =
  | { readonly type: 'entry'; readonly ledgerId: number; readonly entryId: number; readonly body: Buffer }
  | { readonly type: 'master-key'; readonly ledgerId: number; readonly key: Buffer }
  | { readonly type: 'fence'; readonly ledgerId: number }
  | { readonly type: 'delete'; readonly ledgerId: number }
  | { readonly type: 'end' };

export function ledgerPayload(ledgerId: number, extra?: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(8 + (extra?.byteLength ?? 0));
  writeInt53LE(buf, ledgerId, 0);
  if (extra) buf.set(extra, 8);
  return buf;
}

/** Decode a journal frame; undefined for a frame whose payload does not fit its type (corrupt). */
export function decodeRecord(frame: Frame): JournalRecord | undefined {
  const p = frame.payload;
  switch (frame.type) {
    case RecordType.ENTRY: {
      if (p.length < ENVELOPE_OVERHEAD_BYTES) return undefined;
      const ledgerId = readSafeInt64BE(p, 0);
      const entryId = readSafeInt64BE(p, 8);
      if (!(ledgerId >= 0) || !(entryId >= 0)) return undefined;
      return { type: 'entry', ledgerId, entryId, body: p };
    }
    case RecordType.MASTER_KEY:
      if (p.length < 8) return undefined;
      return { type: 'master-key', ledgerId: readInt53LE(p, 0), key: p.subarray(8) };
    case RecordType.FENCE:
      if (p.length !== 8) return undefined;
      return { type: 'fence', ledgerId: readInt53LE(p, 0) };
    case RecordType.DELETE:
      if (p.length !== 8) return undefined;
      return { type: 'delete', ledgerId: readInt53LE(p, 0) };
    case RecordType.END:
      return { type: 'end' };
    default:
      return undefined;
  }
}
