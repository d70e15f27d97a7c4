/**
 * Message ids as plain numbers (pulsar-protocol.md §2.3). On the wire ledgerId/entryId are
 * uint64; a negative id (the "earliest" sentinel −1) arrives as 2^64−1, and the "latest" sentinel
 * is 2^63−1. We read uint64s as signed 64-bit and convert to JS numbers: real ids stay below 2^53
 * (the ledger id allocator guarantees it), sentinels keep their sign and magnitude.
 */
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { MessageIdData, MessageIdDataSchema } from '../gen/pulsar/PulsarApi_pb.ts';

export interface MessageId {
  readonly ledgerId: number;
  readonly entryId: number;
  /** Partition index, −1 for a non-partitioned topic. */
  readonly partition: number;
  /** Index inside a batch, −1 when the id names a whole entry. */
  readonly batchIndex: number;
}

/** Ids at or above this are the "latest" sentinel (2^63−1 after conversion). */
const LATEST_THRESHOLD = 2 ** 62;

export const EARLIEST_MESSAGE_ID: MessageId = { ledgerId: -1, entryId: -1, partition: -1, batchIndex: -1 };
export const LATEST_MESSAGE_ID: MessageId = {
  ledgerId: 2 ** 63 - 1,
  entryId: 2 ** 63 - 1,
  partition: -1,
  batchIndex: -1,
};

/** uint64/int64 wire value → signed JS number (exact below 2^53). */
export function u64ToNumber(value: bigint): number {
  return Number(BigInt.asIntN(64, value));
}

/** JS number → uint64 wire value (negative numbers wrap like Java longs). */
export function numberToU64(value: number): bigint {
  if (value >= LATEST_THRESHOLD) return (1n << 63n) - 1n;
  return BigInt.asUintN(64, BigInt(Math.trunc(value)));
}

export function isEarliest(id: { ledgerId: number; entryId: number }): boolean {
  return id.ledgerId < 0 && id.entryId < 0;
}

export function isLatest(id: { ledgerId: number; entryId: number }): boolean {
  return id.ledgerId >= LATEST_THRESHOLD;
}

export function fromMessageIdData(data: MessageIdData): MessageId {
  return {
    ledgerId: u64ToNumber(data.ledgerId),
    entryId: u64ToNumber(data.entryId),
    partition: data.partition,
    batchIndex: data.batchIndex,
  };
}

export function toMessageIdData(id: {
  ledgerId: number;
  entryId: number;
  partition?: number;
  batchIndex?: number;
}): MessageInitShape<typeof MessageIdDataSchema> {
  const out: MessageInitShape<typeof MessageIdDataSchema> = {
    ledgerId: numberToU64(id.ledgerId),
    entryId: numberToU64(id.entryId),
    partition: id.partition ?? -1,
  };
  if (id.batchIndex !== undefined && id.batchIndex >= 0) out.batchIndex = id.batchIndex;
  return out;
}

/** Order by (ledgerId, entryId, batchIndex). */
export function compareMessageIds(a: MessageId, b: MessageId): number {
  return a.ledgerId - b.ledgerId || a.entryId - b.entryId || a.batchIndex - b.batchIndex;
}

/**
 * Batch-index ack sets: 64-bit words, word j bit i ↔ index 64j+i; a SET bit means "not yet
 * acknowledged". These convert between the words and a plain boolean array of "still unacked".
 */
export function ackSetToUnacked(words: readonly bigint[], batchSize: number): boolean[] {
  const out: boolean[] = new Array(batchSize);
  for (let i = 0; i < batchSize; i++) {
    const word = words[i >> 6] ?? 0n;
    out[i] = ((BigInt.asUintN(64, word) >> BigInt(i & 63)) & 1n) === 1n;
  }
  return out;
}

export function unackedToAckSet(unacked: readonly boolean[]): bigint[] {
  const words: bigint[] = new Array(Math.ceil(unacked.length / 64)).fill(0n);
  for (let i = 0; i < unacked.length; i++) {
    if (unacked[i]) words[i >> 6] |= 1n << BigInt(i & 63);
  }
  return words.map((w) => BigInt.asIntN(64, w));
}
