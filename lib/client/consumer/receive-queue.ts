/**
 * The consumer's incoming queue: messages pushed by the topic consumers (bounded by their
 * permits: the broker sends no more than the receiver queue size), taken by `receive`,
 * `batchReceive`, the async iterator or the listener loop. Every message taken is reported to
 * its origin through `delivered` (permit refill, ack-timeout tracking).
 */
import { clientErrors } from '../errors.ts';
import type { Message, MessageOrigin } from '../message.ts';

interface Waiter {
  resolve: (m: Message) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class ReceiveQueue {
  private items: (Message | undefined)[] = [];
  private head = 0;
  private bytes = 0;
  private waiters: Waiter[] = [];
  private batchWaiter: (() => void) | undefined;
  private closedError: Error | undefined;
  private readonly delivered: (m: Message) => void;

  constructor(delivered: (m: Message) => void) {
    this.delivered = delivered;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  push(msg: Message): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      if (waiter.timer) clearTimeout(waiter.timer);
      this.delivered(msg);
      waiter.resolve(msg);
      return;
    }
    this.items.push(msg);
    this.bytes += msg.payload.byteLength;
    if (this.batchWaiter) this.batchWaiter();
  }

  /** The next message if one is queued (reported as delivered). */
  poll(): Message | undefined {
    const msg = this.items[this.head];
    if (!msg) return undefined;
    this.items[this.head++] = undefined;
    this.bytes -= msg.payload.byteLength;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.delivered(msg);
    return msg;
  }

  /** Wait for a message; with timeoutMs, reject with TIMEOUT when none arrives in time. */
  receive(timeoutMs?: number): Promise<Message> {
    const msg = this.poll();
    if (msg) return Promise.resolve(msg);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise<Message>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(clientErrors.make('TIMEOUT', { operation: 'receive', timeoutMs }));
        }, timeoutMs);
      }
      this.waiters.push(waiter);
    });
  }

  /**
   * Up to maxMessages / maxBytes: returns as soon as either bound is reached, otherwise whatever
   * arrived within timeoutMs (possibly nothing).
   */
  async batchReceive(maxMessages: number, maxBytes: number, timeoutMs: number): Promise<Message[]> {
    if (this.closedError) throw this.closedError;
    if (this.length < maxMessages && this.bytes < maxBytes) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        const self = this;
        function done(): void {
          clearTimeout(timer);
          self.batchWaiter = undefined;
          resolve();
        }
        this.batchWaiter = () => {
          if (this.length >= maxMessages || this.bytes >= maxBytes || this.closedError) done();
        };
      });
    }
    const out: Message[] = [];
    let bytes = 0;
    while (out.length < maxMessages && this.length > 0) {
      const next = this.items[this.head]!;
      if (out.length > 0 && bytes + next.payload.byteLength > maxBytes) break;
      bytes += next.payload.byteLength;
      out.push(this.poll()!);
    }
    return out;
  }

  /** Drop the queued messages of one origin (its subscription restarted); returns how many. */
  removeFrom(origin: MessageOrigin): number {
    let removed = 0;
    const kept: Message[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const m = this.items[i]!;
      if (m.origin === origin) {
        removed++;
        this.bytes -= m.payload.byteLength;
      } else {
        kept.push(m);
      }
    }
    this.items = kept;
    this.head = 0;
    return removed;
  }

  /** Fail waiting receivers; later receives fail at once once the queue is empty. */
  close(err: Error): void {
    this.closedError = err;
    for (const w of this.waiters) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiters = [];
    this.batchWaiter?.();
  }
}
