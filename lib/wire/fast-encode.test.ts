import { describe, expect, it } from 'vitest';
import { BaseCommand_Type } from '../gen/pulsar/PulsarApi_pb.ts';
import { serializeCommand } from './commands.ts';
import { encodeMessageCommand, encodeSendReceiptCommand } from './fast-encode.ts';
import { numberToU64 } from './message-id.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ids = (r: () => number) => {
  const pick = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 40 + 5, 2 ** 53 - 1, -1];
  return {
    ledgerId: pick[Math.floor(r() * pick.length)],
    entryId: pick[Math.floor(r() * pick.length)],
    partition: [-1, 0, 3, 200][Math.floor(r() * 4)],
  };
};
const u64s = [0n, 1n, 127n, 128n, 2n ** 32n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n];

describe('fast encoders', () => {
  it('MESSAGE bytes equal the generic encoder’s', () => {
    const r = rng(1);
    for (let i = 0; i < 500; i++) {
      const id = ids(r);
      const consumerId = u64s[Math.floor(r() * u64s.length)];
      const redeliveryCount = [0, 1, 200, 70000][Math.floor(r() * 4)];
      const ackSet =
        r() < 0.3
          ? [5n, -1n, 2n ** 62n]
          : r() < 0.3
            ? Array.from({ length: 20 }, (_, k) => BigInt(k) * -7n)
            : undefined;
      const expected = serializeCommand({
        type: BaseCommand_Type.MESSAGE,
        message: {
          consumerId,
          messageId: {
            ledgerId: numberToU64(id.ledgerId),
            entryId: numberToU64(id.entryId),
            partition: id.partition,
          },
          redeliveryCount,
          ackSet: ackSet ? [...ackSet] : [],
        },
      });
      expect(
        Buffer.from(encodeMessageCommand(consumerId, id, redeliveryCount, ackSet)).equals(
          Buffer.from(expected),
        ),
      ).toBe(true);
    }
  });

  it('SEND_RECEIPT bytes equal the generic encoder’s', () => {
    const r = rng(2);
    for (let i = 0; i < 500; i++) {
      const id = ids(r);
      const [p, s, h] = [0, 1, 2].map(() => u64s[Math.floor(r() * u64s.length)]);
      const expected = serializeCommand({
        type: BaseCommand_Type.SEND_RECEIPT,
        sendReceipt: {
          producerId: p,
          sequenceId: s,
          highestSequenceId: h,
          messageId: {
            ledgerId: numberToU64(id.ledgerId),
            entryId: numberToU64(id.entryId),
            partition: id.partition,
          },
        },
      });
      expect(Buffer.from(encodeSendReceiptCommand(p, s, h, id)).equals(Buffer.from(expected))).toBe(true);
    }
  });
});
