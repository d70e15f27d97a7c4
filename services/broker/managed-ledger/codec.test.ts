import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  AckRangeSchema,
  LedgerInfoSchema,
  ManagedCursorInfoSchema,
  ManagedLedgerInfoSchema,
  OffloadContextSchema,
} from '../../../lib/gen/magnetar/ml/v1/ml_pb.ts';
import {
  decodeCursorInfo,
  decodeLedgerList,
  decodePositionInfo,
  encodeCursorInfo,
  encodeLedgerList,
  encodePositionInfo,
} from './codec.ts';
import type { CursorSnapshot } from './cursor-state.ts';

const snapshot: CursorSnapshot = {
  markDelete: { ledgerId: 3, entryId: -1 },
  ranges: [
    { ledgerId: 3, first: 2, last: 4 },
    { ledgerId: 5, first: 0, last: 0 },
  ],
  batchAcks: [
    { position: { ledgerId: 5, entryId: 7 }, batchSize: 40, words: Uint32Array.from([5, 1]), ackedCount: 3 },
  ],
  properties: { 'producer-a': 12n, big: 2n ** 62n },
  truncated: true,
};

describe('codec', () => {
  it('round-trips the ledger list, storing the open ledger as 0/0 and keeping offload contexts', () => {
    const offload = create(OffloadContextSchema, { uid: 'u-1', complete: true, driverName: 'fs' });
    const bytes = encodeLedgerList(
      {
        ledgers: [
          { ledgerId: 3, entries: 10, sizeBytes: 100, timestampMs: 5, offload },
          { ledgerId: 9, entries: 4, sizeBytes: 40, timestampMs: 6 },
        ],
        terminatedPosition: { ledgerId: 9, entryId: 3 },
        properties: { k: 'v' },
        createdMs: 1,
        deleting: false,
        owner: 'o-1',
      },
      9,
    );
    const back = decodeLedgerList(bytes, 't');
    expect(back.ledgers.map((l) => [l.ledgerId, l.entries, l.sizeBytes])).toEqual([
      [3, 10, 100],
      [9, 0, 0],
    ]);
    expect((back.ledgers[0].offload as { uid: string }).uid).toBe('u-1');
    expect(back.terminatedPosition).toEqual({ ledgerId: 9, entryId: 3 });
    expect(back).toMatchObject({ properties: { k: 'v' }, createdMs: 1, deleting: false, owner: 'o-1' });
  });

  it('round-trips cursor keys and cursor-ledger entries exactly', () => {
    const info = decodeCursorInfo(
      encodeCursorInfo({ cursorLedgerId: 44, snapshot, cursorProperties: { a: 'b' }, lastActiveMs: 9 }),
      'c',
    );
    expect(info.cursorLedgerId).toBe(44);
    expect(info.cursorProperties).toEqual({ a: 'b' });
    expect(info.snapshot.ranges).toEqual(snapshot.ranges);
    expect(info.snapshot.markDelete).toEqual(snapshot.markDelete);
    expect(info.snapshot.properties).toEqual(snapshot.properties);
    expect([...info.snapshot.batchAcks[0].words]).toEqual([5, 1]);
    expect(info.snapshot.truncated).toBe(true);
    const pos = decodePositionInfo(encodePositionInfo(snapshot, 1), 'c');
    expect(pos.ranges).toEqual(snapshot.ranges);
    expect(pos.batchAcks[0].position).toEqual({ ledgerId: 5, entryId: 7 });
  });

  it('turns undecodable or inconsistent bytes into CORRUPT_METADATA', () => {
    expect(() => decodeLedgerList(new Uint8Array([0xff, 0xff, 0xff]), 't')).toThrow(
      expect.objectContaining({ code: 'CORRUPT_METADATA' }),
    );
    const unordered = toBinary(
      ManagedLedgerInfoSchema,
      create(ManagedLedgerInfoSchema, {
        ledgers: [create(LedgerInfoSchema, { ledgerId: 5n }), create(LedgerInfoSchema, { ledgerId: 4n })],
      }),
    );
    expect(() => decodeLedgerList(unordered, 't')).toThrow(
      expect.objectContaining({ code: 'CORRUPT_METADATA' }),
    );
    const negative = toBinary(
      ManagedLedgerInfoSchema,
      create(ManagedLedgerInfoSchema, {
        ledgers: [create(LedgerInfoSchema, { ledgerId: 1n, entries: -3n })],
      }),
    );
    expect(() => decodeLedgerList(negative, 't')).toThrow(
      expect.objectContaining({ code: 'CORRUPT_METADATA' }),
    );
    const emptyRange = toBinary(
      ManagedCursorInfoSchema,
      create(ManagedCursorInfoSchema, {
        individuallyDeleted: [create(AckRangeSchema, { ledgerId: 1n, firstEntryId: 5n, lastEntryId: 2n })],
      }),
    );
    expect(() => decodeCursorInfo(emptyRange, 'c')).toThrow(
      expect.objectContaining({ code: 'CORRUPT_METADATA' }),
    );
  });
});
