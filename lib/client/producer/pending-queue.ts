/**
 * The entries a producer has written (or will write after a reconnect) and not yet had receipts
 * for, in send order (pure). Receipts must come in the same order (pulsar-protocol.md §2.7): a
 * receipt for the head completes it; one for an older sequence id is a duplicate (after a
 * resend); one for a newer id means the broker skipped something and the connection is reset.
 */
import type { OpSend } from './op-send.ts';

export type ReceiptVerdict =
  | { readonly kind: 'complete'; readonly op: OpSend }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'ahead'; readonly expected: number }
  | { readonly kind: 'none-pending' };

export class PendingQueue {
  private ops: (OpSend | undefined)[] = [];
  private head = 0;
  private messageCount = 0;
  private byteCount = 0;

  /** Entries waiting for receipts. */
  get length(): number {
    return this.ops.length - this.head;
  }

  /** Messages in those entries. */
  get messages(): number {
    return this.messageCount;
  }

  get bytes(): number {
    return this.byteCount;
  }

  push(op: OpSend): void {
    this.ops.push(op);
    this.messageCount += op.numMessages;
    this.byteCount += op.bytes;
  }

  peek(): OpSend | undefined {
    return this.ops[this.head];
  }

  /** The newest entry (flush waits for it). */
  last(): OpSend | undefined {
    return this.length > 0 ? this.ops[this.ops.length - 1] : undefined;
  }

  /** Match a receipt against the head. */
  onReceipt(sequenceId: number): ReceiptVerdict {
    const op = this.peek();
    if (!op) return { kind: 'none-pending' };
    if (sequenceId < op.sequenceId) return { kind: 'duplicate' };
    if (sequenceId > op.sequenceId) return { kind: 'ahead', expected: op.sequenceId };
    this.shift();
    return { kind: 'complete', op };
  }

  /** Remove the head (a receipt or a per-entry error completed it). */
  shift(): OpSend | undefined {
    const op = this.ops[this.head];
    if (!op) return undefined;
    this.ops[this.head++] = undefined;
    this.messageCount -= op.numMessages;
    this.byteCount -= op.bytes;
    if (this.head > 1024 && this.head * 2 > this.ops.length) {
      this.ops = this.ops.slice(this.head);
      this.head = 0;
    }
    return op;
  }

  /** Every pending entry in order (to resend after a reconnect). */
  *[Symbol.iterator](): IterableIterator<OpSend> {
    for (let i = this.head; i < this.ops.length; i++) yield this.ops[i]!;
  }

  /** Remove and return everything (to fail it). */
  drain(): OpSend[] {
    const out = this.ops.slice(this.head) as OpSend[];
    this.ops = [];
    this.head = 0;
    this.messageCount = 0;
    this.byteCount = 0;
    return out;
  }
}
