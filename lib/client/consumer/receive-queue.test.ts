import { describe, expect, it } from 'vitest';
import { Message, type MessageOrigin } from '../message.ts';
import { MessageId } from '../message-id.ts';
import { ReceiveQueue } from './receive-queue.ts';

const originA: MessageOrigin = { topic: 'a' };
const originB: MessageOrigin = { topic: 'b' };

function m(i: number, origin = originA, bytes = 1): Message {
  return new Message({
    topic: origin.topic,
    messageId: new MessageId(1, i),
    payload: Buffer.alloc(bytes, i),
    properties: {},
    publishTime: 0,
    eventTime: 0,
    redeliveryCount: 0,
    producerName: 'p',
    sequenceId: i,
    origin,
  });
}

describe('ReceiveQueue', () => {
  it('hands messages to waiting receivers first, in order, reporting each delivery', async () => {
    const delivered: number[] = [];
    const q = new ReceiveQueue((x) => delivered.push(x.sequenceId));
    const first = q.receive();
    q.push(m(1));
    q.push(m(2));
    expect((await first).sequenceId).toBe(1);
    expect((await q.receive()).sequenceId).toBe(2);
    expect(delivered).toEqual([1, 2]);
  });

  it('times out a receive with a coded error', async () => {
    const q = new ReceiveQueue(() => undefined);
    await expect(q.receive(5)).rejects.toMatchObject({ code: 'TIMEOUT' });
    q.push(m(1));
    expect(q.length).toBe(1);
  });

  it('batch receive returns at the count bound, or what came before the timeout', async () => {
    const q = new ReceiveQueue(() => undefined);
    for (let i = 0; i < 5; i++) q.push(m(i));
    expect((await q.batchReceive(3, 1000, 10_000)).map((x) => x.sequenceId)).toEqual([0, 1, 2]);
    expect((await q.batchReceive(10, 1000, 5)).map((x) => x.sequenceId)).toEqual([3, 4]);
    expect(await q.batchReceive(10, 1000, 5)).toEqual([]);
    const pending = q.batchReceive(2, 1000, 60_000);
    q.push(m(7));
    q.push(m(8));
    expect((await pending).map((x) => x.sequenceId)).toEqual([7, 8]);
  });

  it('batch receive stops at the byte bound but always returns at least one message', async () => {
    const q = new ReceiveQueue(() => undefined);
    q.push(m(1, originA, 60));
    q.push(m(2, originA, 60));
    expect((await q.batchReceive(10, 100, 0)).length).toBe(1);
    expect((await q.batchReceive(10, 10, 0)).length).toBe(1);
  });

  it('drops the messages of one origin and fails receivers on close', async () => {
    const q = new ReceiveQueue(() => undefined);
    q.push(m(1, originA));
    q.push(m(2, originB));
    q.push(m(3, originA));
    expect(q.removeFrom(originA)).toBe(2);
    expect((await q.receive()).sequenceId).toBe(2);
    const waiting = q.receive();
    q.close(new Error('closed'));
    await expect(waiting).rejects.toThrow('closed');
    await expect(q.receive()).rejects.toThrow('closed');
  });
});
