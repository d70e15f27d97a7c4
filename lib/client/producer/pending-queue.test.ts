import { describe, expect, it } from 'vitest';
import type { OpSend } from './op-send.ts';
import { PendingQueue } from './pending-queue.ts';

function op(sequenceId: number, numMessages = 1): OpSend {
  return {
    sequenceId,
    highestSequenceId: sequenceId + numMessages - 1,
    numMessages,
    batched: numMessages > 1,
    head: Buffer.alloc(0),
    payload: Buffer.alloc(0),
    callbacks: [],
    bytes: 10 * numMessages,
    createdAtMs: 0,
  };
}

describe('PendingQueue', () => {
  it('completes receipts in send order and counts messages and bytes', () => {
    const q = new PendingQueue();
    q.push(op(0, 3));
    q.push(op(3, 2));
    expect(q.messages).toBe(5);
    expect(q.bytes).toBe(50);
    expect(q.onReceipt(0).kind).toBe('complete');
    expect(q.messages).toBe(2);
    expect(q.onReceipt(3).kind).toBe('complete');
    expect(q.onReceipt(3).kind).toBe('none-pending');
  });

  it('treats an older sequence id as a duplicate and a newer one as a gap', () => {
    const q = new PendingQueue();
    q.push(op(5));
    q.push(op(6));
    expect(q.onReceipt(4)).toEqual({ kind: 'duplicate' });
    expect(q.onReceipt(6)).toEqual({ kind: 'ahead', expected: 5 });
    expect(q.length).toBe(2);
  });

  it('iterates pending entries in order for a resend and drains them to fail them', () => {
    const q = new PendingQueue();
    for (let i = 0; i < 3000; i++) q.push(op(i));
    for (let i = 0; i < 2000; i++) q.onReceipt(i);
    expect([...q].map((o) => o.sequenceId).slice(0, 3)).toEqual([2000, 2001, 2002]);
    expect(q.last()?.sequenceId).toBe(2999);
    expect(q.drain()).toHaveLength(1000);
    expect(q.length).toBe(0);
    expect(q.messages).toBe(0);
  });
});
