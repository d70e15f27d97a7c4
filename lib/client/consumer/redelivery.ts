/**
 * What a topic consumer redelivers and when (internals.md §4.4): negatively acknowledged entries
 * after their delay, entries not acknowledged within the ack timeout, and — for Shared and
 * Key_Shared with a dead-letter policy — which of them go to the dead-letter topic instead
 * (delivered with a redelivery count at maxRedeliverCount: this failure is their last). One
 * timer for the nacks, one interval for the ack timeout; the owner does the sending.
 */
import type { Message } from '../message.ts';
import type { MessageId } from '../message-id.ts';
import { AckTimeoutTracker } from './ack-timeout.ts';
import type { ResolvedConsumerOptions } from './consumer-options.ts';
import { exhausted } from './dead-letter.ts';
import { entryKey, NackTracker } from './nack-tracker.ts';

export interface RedeliveryBatch {
  /** Entries to hand back to the broker. */
  readonly redeliver: MessageId[];
  /** Entries (with their messages) to publish to the dead-letter topic and acknowledge. */
  readonly deadLetter: { readonly id: MessageId; readonly messages: Message[] }[];
}

export class Redelivery {
  private readonly opts: ResolvedConsumerOptions;
  private readonly shared: boolean;
  private readonly nacks: NackTracker;
  private readonly ackTimeout: AckTimeoutTracker | undefined;
  private readonly candidates = new Map<string, Message[]>();
  private readonly due: (batch: RedeliveryBatch) => void;
  private nackTimer: NodeJS.Timeout | undefined;
  private ackTimeoutTimer: NodeJS.Timeout | undefined;

  constructor(opts: ResolvedConsumerOptions, due: (batch: RedeliveryBatch) => void) {
    this.opts = opts;
    this.shared = opts.subscriptionType === 'Shared' || opts.subscriptionType === 'Key_Shared';
    this.due = due;
    this.nacks = new NackTracker(opts.negativeAckRedeliveryDelayMs);
    this.ackTimeout =
      opts.ackTimeoutMs > 0 ? new AckTimeoutTracker(opts.ackTimeoutMs, opts.ackTimeoutTickMs) : undefined;
  }

  /** Start the ack-timeout ticks (once subscribed). */
  start(): void {
    if (!this.ackTimeout || this.ackTimeoutTimer) return;
    this.ackTimeoutTimer = setInterval(
      () => this.release(this.ackTimeout!.tick()),
      this.opts.ackTimeoutTickMs,
    );
    this.ackTimeoutTimer.unref();
  }

  /** An entry arrived with this redelivery count: remember it if its next failure is its last. */
  received(entry: { ledgerId: number; entryId: number }, redeliveryCount: number, messages: Message[]): void {
    const policy = this.opts.deadLetterPolicy;
    if (!policy || !this.shared || redeliveryCount === 0) return;
    if (exhausted(redeliveryCount, policy.maxRedeliverCount)) this.candidates.set(entryKey(entry), messages);
  }

  /** The application took the message: the ack timeout starts. */
  delivered(id: MessageId): void {
    this.ackTimeout?.add(id);
  }

  /** The whole entry was acknowledged. */
  acked(id: MessageId): void {
    this.ackTimeout?.remove(id);
    this.nacks.remove(id);
    this.candidates.delete(entryKey(id));
  }

  /** Part of the entry was acknowledged cumulatively: no more ack timeout for it. */
  ackedCumulative(id: MessageId): void {
    this.ackTimeout?.remove(id);
  }

  nack(id: MessageId, nowMs = Date.now()): void {
    this.nacks.add(id, nowMs);
    this.ackTimeout?.remove(id);
    if (this.nackTimer === undefined) this.armNackTimer();
  }

  private armNackTimer(): void {
    const dueMs = this.nacks.nextDueMs();
    if (dueMs === undefined) return;
    this.nackTimer = setTimeout(
      () => {
        this.nackTimer = undefined;
        this.release(this.nacks.takeDue(Date.now()));
        this.armNackTimer();
      },
      Math.max(0, dueMs - Date.now()),
    );
    this.nackTimer.unref();
  }

  private release(ids: MessageId[]): void {
    if (ids.length === 0) return;
    const batch: RedeliveryBatch = { redeliver: [], deadLetter: [] };
    for (const id of ids) {
      const key = entryKey(id);
      const messages = this.candidates.get(key);
      if (messages) {
        this.candidates.delete(key);
        batch.deadLetter.push({ id, messages });
      } else {
        batch.redeliver.push(id);
      }
    }
    this.due(batch);
  }

  /** Everything will be redelivered anyway (reconnect, redeliver-all, seek). */
  clear(): void {
    this.nacks.clear();
    this.ackTimeout?.clear();
  }

  /** After a seek the old entries' counts mean nothing. */
  forgetCandidates(): void {
    this.candidates.clear();
  }

  stop(): void {
    if (this.nackTimer) clearTimeout(this.nackTimer);
    if (this.ackTimeoutTimer) clearInterval(this.ackTimeoutTimer);
    this.nackTimer = this.ackTimeoutTimer = undefined;
    this.clear();
  }
}
