/**
 * Conversions between the stored protobuf values (proto/magnetar/ml/v1/ml.proto) and the
 * in-memory shapes. Decoding validates every number: bad bytes become CORRUPT_METADATA, never a
 * half-built state.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  type AckRange as AckRangeProto,
  AckRangeSchema,
  type BatchAck as BatchAckProto,
  BatchAckSchema,
  LedgerInfoSchema,
  ManagedCursorInfoSchema,
  ManagedLedgerInfoSchema,
  type OffloadContext,
  PositionInfoSchema,
  PositionProtoSchema,
} from '../../../lib/gen/magnetar/ml/v1/ml_pb.ts';
import type { Position } from './api.ts';
import type { BatchAckEntry } from './batch-acks.ts';
import type { CursorSnapshot } from './cursor-state.ts';
import { mlErrors } from './errors.ts';
import type { LedgerRecord } from './ledger-list.ts';
import type { AckRange } from './range-set.ts';

/** The decoded value of a managed-ledger key. */
export interface StoredLedgerList {
  readonly ledgers: LedgerRecord[];
  readonly terminatedPosition?: Position;
  readonly properties: Record<string, string>;
  readonly createdMs: number;
  readonly deleting: boolean;
  /** Token of the instance that took the topic over last (makes its claim write unique). */
  readonly owner: string;
}

/** The decoded value of a cursor key. */
export interface StoredCursor {
  /** -1 when the state lives in the key only. */
  readonly cursorLedgerId: number;
  readonly snapshot: CursorSnapshot;
  readonly cursorProperties: Record<string, string>;
  readonly lastActiveMs: number;
}

class DecodeError extends Error {}

function num(v: bigint, what: string, min = 0): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new DecodeError(`${what}=${v} out of range`);
  return n;
}

function decode<T>(what: string, name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw mlErrors.make('CORRUPT_METADATA', { name, reason: `${what}: ${(err as Error).message}` }, err);
  }
}

export function encodeLedgerList(s: StoredLedgerList, currentOpenLedgerId: number | undefined): Uint8Array {
  return toBinary(
    ManagedLedgerInfoSchema,
    create(ManagedLedgerInfoSchema, {
      ledgers: s.ledgers.map((r) => {
        // The ledger being written is stored empty: its true size is known only once closed.
        const open = r.ledgerId === currentOpenLedgerId;
        return create(LedgerInfoSchema, {
          ledgerId: BigInt(r.ledgerId),
          entries: open ? 0n : BigInt(r.entries),
          sizeBytes: open ? 0n : BigInt(r.sizeBytes),
          timestampMs: BigInt(r.timestampMs),
          offloadContext: r.offload as OffloadContext | undefined,
        });
      }),
      terminatedPosition: s.terminatedPosition && positionProto(s.terminatedPosition),
      properties: s.properties,
      createdMs: BigInt(s.createdMs),
      deleting: s.deleting,
      owner: s.owner,
    }),
  );
}

export function decodeLedgerList(bytes: Uint8Array, name: string): StoredLedgerList {
  return decode('ManagedLedgerInfo', name, () => {
    const m = fromBinary(ManagedLedgerInfoSchema, bytes);
    let prev = -1;
    const ledgers = m.ledgers.map((l) => {
      const ledgerId = num(l.ledgerId, 'ledger_id');
      if (ledgerId <= prev) throw new DecodeError(`ledger ids not increasing at ${ledgerId}`);
      prev = ledgerId;
      return {
        ledgerId,
        entries: num(l.entries, 'entries'),
        sizeBytes: num(l.sizeBytes, 'size_bytes'),
        timestampMs: num(l.timestampMs, 'timestamp_ms'),
        offload: l.offloadContext,
      };
    });
    return {
      ledgers,
      terminatedPosition: m.terminatedPosition && {
        ledgerId: num(m.terminatedPosition.ledgerId, 'terminated ledger_id'),
        entryId: num(m.terminatedPosition.entryId, 'terminated entry_id', -1),
      },
      properties: { ...m.properties },
      createdMs: num(m.createdMs, 'created_ms'),
      deleting: m.deleting,
      owner: m.owner,
    };
  });
}

function positionProto(p: Position) {
  return create(PositionProtoSchema, { ledgerId: BigInt(p.ledgerId), entryId: BigInt(p.entryId) });
}

function rangesToProto(ranges: readonly AckRange[]): AckRangeProto[] {
  return ranges.map((r) =>
    create(AckRangeSchema, {
      ledgerId: BigInt(r.ledgerId),
      firstEntryId: BigInt(r.first),
      lastEntryId: BigInt(r.last),
    }),
  );
}

function rangesFromProto(ranges: readonly AckRangeProto[]): AckRange[] {
  return ranges.map((r) => {
    const first = num(r.firstEntryId, 'first_entry_id');
    const last = num(r.lastEntryId, 'last_entry_id');
    if (last < first) throw new DecodeError(`ack range ${first}..${last} is empty`);
    return { ledgerId: num(r.ledgerId, 'ledger_id'), first, last };
  });
}

function batchAcksToProto(acks: readonly BatchAckEntry[]): BatchAckProto[] {
  return acks.map((b) =>
    create(BatchAckSchema, {
      ledgerId: BigInt(b.position.ledgerId),
      entryId: BigInt(b.position.entryId),
      batchSize: b.batchSize,
      ackedWords: [...b.words],
    }),
  );
}

function batchAcksFromProto(acks: readonly BatchAckProto[]): BatchAckEntry[] {
  return acks.map((b) => {
    if (b.batchSize <= 0) throw new DecodeError(`batch size ${b.batchSize}`);
    return {
      position: { ledgerId: num(b.ledgerId, 'ledger_id'), entryId: num(b.entryId, 'entry_id') },
      batchSize: b.batchSize,
      words: Uint32Array.from(b.ackedWords),
      ackedCount: 0,
    };
  });
}

function propsToProto(p: Readonly<Record<string, bigint>>): Record<string, bigint> {
  return { ...p };
}

export function encodePositionInfo(s: CursorSnapshot, nowMs: number): Uint8Array {
  return toBinary(
    PositionInfoSchema,
    create(PositionInfoSchema, {
      ledgerId: BigInt(s.markDelete.ledgerId),
      entryId: BigInt(s.markDelete.entryId),
      individuallyDeleted: rangesToProto(s.ranges),
      properties: propsToProto(s.properties),
      batchAcks: batchAcksToProto(s.batchAcks),
      writtenMs: BigInt(nowMs),
      rangesTruncated: s.truncated,
    }),
  );
}

export function decodePositionInfo(bytes: Uint8Array, name: string): CursorSnapshot {
  return decode('PositionInfo', name, () => {
    const m = fromBinary(PositionInfoSchema, bytes);
    return {
      markDelete: { ledgerId: num(m.ledgerId, 'ledger_id'), entryId: num(m.entryId, 'entry_id', -1) },
      ranges: rangesFromProto(m.individuallyDeleted),
      batchAcks: batchAcksFromProto(m.batchAcks),
      properties: { ...m.properties },
      truncated: m.rangesTruncated,
    };
  });
}

export function encodeCursorInfo(c: StoredCursor): Uint8Array {
  const s = c.snapshot;
  return toBinary(
    ManagedCursorInfoSchema,
    create(ManagedCursorInfoSchema, {
      cursorLedgerId: BigInt(c.cursorLedgerId),
      markDeleteLedgerId: BigInt(s.markDelete.ledgerId),
      markDeleteEntryId: BigInt(s.markDelete.entryId),
      individuallyDeleted: rangesToProto(s.ranges),
      properties: propsToProto(s.properties),
      lastActiveMs: BigInt(c.lastActiveMs),
      batchAcks: batchAcksToProto(s.batchAcks),
      cursorProperties: c.cursorProperties,
      rangesTruncated: s.truncated,
    }),
  );
}

export function decodeCursorInfo(bytes: Uint8Array, name: string): StoredCursor {
  return decode('ManagedCursorInfo', name, () => {
    const m = fromBinary(ManagedCursorInfoSchema, bytes);
    return {
      cursorLedgerId: num(m.cursorLedgerId, 'cursor_ledger_id', -1),
      snapshot: {
        markDelete: {
          ledgerId: num(m.markDeleteLedgerId, 'mark_delete_ledger_id'),
          entryId: num(m.markDeleteEntryId, 'mark_delete_entry_id', -1),
        },
        ranges: rangesFromProto(m.individuallyDeleted),
        batchAcks: batchAcksFromProto(m.batchAcks),
        properties: { ...m.properties },
        truncated: m.rangesTruncated,
      },
      cursorProperties: { ...m.cursorProperties },
      lastActiveMs: num(m.lastActiveMs, 'last_active_ms'),
    };
  });
}
