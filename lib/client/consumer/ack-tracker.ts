/**
 * Acknowledgement bookkeeping of one topic consumer (pure; internals.md §4.7):
 *
 *  - Batches: a received batch gets a record of which of its messages the application has
 *    acknowledged. The entry is acknowledged on the broker once all are; before that, with
 *    batch-index acks enabled, an ACK carries the `ack_set` of still-unacked indexes.
 *  - Grouping: acks wait up to ackGroupTimeMs (the driver's timer) or until maxAckGroupSize
 *    are pending, then go out as one ACK frame listing many ids (individual) plus one
 *    cumulative ACK for the highest cumulative position.
 */
import { unackedToAckSet } from '../../wire/message-id.ts';
import type { MessageId } from '../message-id.ts';
import { entryKey } from './nack-tracker.ts';

/** One position to acknowledge: a whole entry, or some indexes of a batch (ackSet). */
export interface AckPosition {
  readonly ledgerId: number;
  readonly entryId: number;
  /** Remaining-unacked bitset words when only part of a batch is acknowledged. */
  readonly ackSet?: bigint[];
  readonly batchSize?: number;
}

export interface AckFlush {
  readonly individual: AckPosition[];
  readonly cumulative: AckPosition | undefined;
}

interface BatchState {
  readonly size: number;
  readonly unacked: boolean[];
  remaining: number;
}

export class AckTracker {
  private readonly batchIndexAck: boolean;
  private readonly maxGroupSize: number;
  private readonly batches = new Map<string, BatchState>();
  private individual = new Map<string, AckPosition>();
  private cumulative: AckPosition | undefined;
  private lastCumulative: { ledgerId: number; entryId: number } | undefined;

  constructor(batchIndexAck: boolean, maxGroupSize: number) {
    this.batchIndexAck = batchIndexAck;
    this.maxGroupSize = maxGroupSize;
  }

  /** A batch entry arrived; `alreadyAcked` are indexes the broker says were acknowledged before. */
  onBatchReceived(
    id: { ledgerId: number; entryId: number },
    size: number,
    alreadyAcked: readonly boolean[] = [],
  ): void {
    const key = entryKey(id);
    if (this.batches.has(key)) return;
    const unacked = Array.from({ length: size }, (_, i) => !alreadyAcked[i]);
    this.batches.set(key, { size, unacked, remaining: unacked.filter(Boolean).length });
  }

  /** Acks queued and not yet flushed. */
  get pendingCount(): number {
    return this.individual.size + (this.cumulative ? 1 : 0);
  }

  /** True when the group is full and should be flushed now. */
  get shouldFlush(): boolean {
    return this.pendingCount >= this.maxGroupSize;
  }

  /**
   * Acknowledge one message. Returns true when its whole entry is now acknowledged (the caller
   * stops tracking it for redelivery), false while other messages of its batch are still unacked.
   */
  ackIndividual(id: MessageId): boolean {
    if (id.batchIndex < 0) {
      this.queueIndividual({ ledgerId: id.ledgerId, entryId: id.entryId });
      return true;
    }
    const key = entryKey(id);
    const batch = this.batches.get(key);
    if (!batch) {
      // Not (or no longer) tracked: acknowledge the index alone when allowed, else the entry.
      if (this.batchIndexAck && id.batchSize > 0) {
        const unacked = Array.from({ length: id.batchSize }, (_, i) => i !== id.batchIndex);
        this.queueIndividual({
          ledgerId: id.ledgerId,
          entryId: id.entryId,
          ackSet: unackedToAckSet(unacked),
          batchSize: id.batchSize,
        });
        return false;
      }
      this.queueIndividual({ ledgerId: id.ledgerId, entryId: id.entryId });
      return true;
    }
    if (batch.unacked[id.batchIndex]) {
      batch.unacked[id.batchIndex] = false;
      batch.remaining--;
    }
    if (batch.remaining <= 0) {
      this.batches.delete(key);
      this.queueIndividual({ ledgerId: id.ledgerId, entryId: id.entryId });
      return true;
    }
    if (this.batchIndexAck) {
      this.queueIndividual({
        ledgerId: id.ledgerId,
        entryId: id.entryId,
        ackSet: unackedToAckSet(batch.unacked),
        batchSize: batch.size,
      });
    }
    return false;
  }

  /**
   * Acknowledge everything up to and including `id`. For a batch message not at the end of its
   * batch: with batch-index acks, the entry with an ack_set; otherwise the previous entry.
   */
  ackCumulative(id: MessageId): void {
    let pos: AckPosition | undefined;
    if (id.batchIndex < 0) {
      pos = { ledgerId: id.ledgerId, entryId: id.entryId };
    } else {
      const key = entryKey(id);
      const batch = this.batches.get(key);
      const size = batch?.size ?? id.batchSize;
      if (id.batchIndex >= size - 1) {
        pos = { ledgerId: id.ledgerId, entryId: id.entryId };
      } else if (this.batchIndexAck && size > 0) {
        const unacked = Array.from({ length: size }, (_, i) => i > id.batchIndex);
        pos = {
          ledgerId: id.ledgerId,
          entryId: id.entryId,
          ackSet: unackedToAckSet(unacked),
          batchSize: size,
        };
      } else if (id.entryId > 0) {
        pos = { ledgerId: id.ledgerId, entryId: id.entryId - 1 };
      }
      if (batch) {
        for (let i = 0; i <= id.batchIndex && i < batch.size; i++) {
          if (batch.unacked[i]) {
            batch.unacked[i] = false;
            batch.remaining--;
          }
        }
      }
    }
    if (pos && (!this.lastCumulative || compare(pos, this.lastCumulative) >= 0)) {
      this.cumulative = pos;
      this.lastCumulative = { ledgerId: pos.ledgerId, entryId: pos.entryId };
    }
    // Batches entirely before the cumulative position need no more tracking.
    for (const [key, b] of this.batches) {
      const [l, e] = key.split(':').map(Number);
      if (l < id.ledgerId || (l === id.ledgerId && e < id.entryId) || b.remaining <= 0)
        this.batches.delete(key);
    }
  }

  private queueIndividual(pos: AckPosition): void {
    this.individual.set(entryKey(pos), pos);
  }

  /** Take the queued acks. */
  flush(): AckFlush {
    const out: AckFlush = { individual: [...this.individual.values()], cumulative: this.cumulative };
    this.individual = new Map();
    this.cumulative = undefined;
    return out;
  }

  /** Forget batch states (after a seek or a redelivery of everything). Queued acks stay. */
  clearBatches(): void {
    this.batches.clear();
  }
}

function compare(a: { ledgerId: number; entryId: number }, b: { ledgerId: number; entryId: number }): number {
  return a.ledgerId - b.ledgerId || a.entryId - b.entryId;
}
