/**
 * Applying a client ACK to a persistent subscription: the cursor records it (individual, batch
 * index via ack_set, cumulative), then the dispatcher forgets what is fully acknowledged.
 * ack_set words list the indexes still NOT acknowledged; cleared bits below batch_size are acked.
 * Cumulative acks only apply to Exclusive/Failover (ignored with success on Shared/Key_Shared, as
 * the reference broker does).
 */
import { ackSetToUnacked } from '../../../lib/wire/message-id.ts';
import type { Position } from '../managed-ledger/api.ts';
import { previousPosition } from '../topics/entries.ts';
import type { AckRequest } from '../topics/topic.ts';
import type { Consumer } from './consumer.ts';
import type { PersistentSubscription } from './persistent-subscription.ts';

export async function applyAck(
  sub: PersistentSubscription,
  consumer: Consumer,
  req: AckRequest,
): Promise<void> {
  consumer.lastAckedTimestamp = Date.now();
  const cursor = sub.cursor;
  if (req.type === 'cumulative') {
    if (sub.type === 'Shared' || sub.type === 'Key_Shared') return;
    const id = req.ids[0];
    const pos: Position = { ledgerId: id.ledgerId, entryId: id.entryId };
    const acked = id.ackSet && id.batchSize ? ackedIndexes(id.ackSet, id.batchSize) : undefined;
    if (acked && acked.length < id.batchSize!) {
      await cursor.markDelete(previousPosition(pos));
      if (acked.length > 0) await cursor.deleteBatchIndexes(pos, id.batchSize!, acked);
      sub.ackedUpTo(previousPosition(pos));
      if (cursor.isAcknowledged(pos)) sub.acked([pos]);
    } else {
      await cursor.markDelete(pos);
      sub.ackedUpTo(pos);
    }
    return;
  }
  const whole: Position[] = [];
  for (const id of req.ids) {
    const pos: Position = { ledgerId: id.ledgerId, entryId: id.entryId };
    if (id.ackSet && id.batchSize && id.batchSize > 0) {
      const acked = ackedIndexes(id.ackSet, id.batchSize);
      if (acked.length < id.batchSize) {
        if (acked.length > 0) await cursor.deleteBatchIndexes(pos, id.batchSize, acked);
        if (cursor.isAcknowledged(pos)) sub.acked([pos]);
        continue;
      }
    }
    whole.push(pos);
  }
  if (whole.length > 0) {
    await cursor.delete(whole);
    sub.acked(whole);
  }
}

function ackedIndexes(ackSet: readonly bigint[], batchSize: number): number[] {
  const unacked = ackSetToUnacked(ackSet, batchSize);
  const out: number[] = [];
  for (let i = 0; i < batchSize; i++) if (!unacked[i]) out.push(i);
  return out;
}
