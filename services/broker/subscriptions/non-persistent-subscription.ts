/**
 * A subscription on a non-persistent topic: best effort, nothing stored. Each published entry is
 * offered once to the consumer the subscription type selects (Shared: round robin; Failover /
 * Exclusive: the active consumer; Key_Shared: the slot's owner); if that consumer has no permits
 * or its socket is backed up, the entry is dropped for this subscription (counted in msgDrop).
 * Acks are accepted and ignored; there is no redelivery and no seek.
 */
import {
  AutoSplitSelector,
  type KeySelector,
  RoundRobinPicker,
  StickySelector,
  chooseActive,
} from './selectors.ts';
import type { Consumer } from './consumer.ts';
import type { SubscriptionType } from './types.ts';
import { RateMeter } from '../topics/rates.ts';

interface Slot {
  readonly consumer: Consumer;
  permits: number;
}

export interface NonPersistentOffer {
  readonly id: { ledgerId: number; entryId: number; partition: number };
  readonly entry: Buffer;
  readonly numMessages: number;
  readonly slot: number;
}

export class NonPersistentSubscription {
  readonly name: string;
  readonly type: SubscriptionType;
  private readonly partitionIndex: number;
  private readonly consumers = new Map<number, Slot>();
  private ordered: Slot[] = [];
  private readonly picker = new RoundRobinPicker();
  private readonly selector: KeySelector | undefined;
  private activeId: number | undefined;
  readonly dropped = new RateMeter();

  constructor(
    name: string,
    type: SubscriptionType,
    partitionIndex: number,
    keySharedMode: 'auto-split' | 'sticky',
  ) {
    this.name = name;
    this.type = type;
    this.partitionIndex = partitionIndex;
    if (type === 'Key_Shared')
      this.selector = keySharedMode === 'sticky' ? new StickySelector() : new AutoSplitSelector();
  }

  get consumerCount(): number {
    return this.consumers.size;
  }

  allConsumers(): Consumer[] {
    return this.ordered.map((s) => s.consumer);
  }

  /** Undefined when accepted, else the refusal (code + reason). */
  add(
    consumer: Consumer,
    stickyRanges?: readonly (readonly [number, number])[],
  ): { code: 'CONSUMER_BUSY' | 'CONSUMER_ASSIGN_FAILED'; reason: string } | undefined {
    if (this.type === 'Exclusive' && this.consumers.size > 0)
      return { code: 'CONSUMER_BUSY', reason: 'exclusive and already has a consumer' };
    if (this.selector) {
      const refused = this.selector.add({
        id: consumer.id,
        name: consumer.name,
        priority: consumer.priority,
        stickyRanges,
      });
      if (refused) return { code: 'CONSUMER_ASSIGN_FAILED', reason: refused };
    }
    const slot = { consumer, permits: 0 };
    this.consumers.set(consumer.id, slot);
    this.ordered.push(slot);
    if (!this.updateActive() && this.type === 'Failover') {
      consumer.channel.sendActiveConsumerChange(this.activeId === consumer.id);
    }
    return undefined;
  }

  remove(consumer: Consumer): void {
    const slot = this.consumers.get(consumer.id);
    if (!slot) return;
    this.consumers.delete(consumer.id);
    this.ordered = this.ordered.filter((s) => s !== slot);
    this.selector?.remove(consumer.id);
    this.updateActive();
  }

  flow(consumer: Consumer, permits: number): void {
    const slot = this.consumers.get(consumer.id);
    if (slot && permits > 0) slot.permits += permits;
  }

  permitsOf(consumer: Consumer): number {
    return this.consumers.get(consumer.id)?.permits ?? 0;
  }

  /** Offer one entry; returns true when a consumer took it. */
  offer(o: NonPersistentOffer): boolean {
    const target = this.select(o.slot);
    if (!target || target.permits <= 0 || !target.consumer.channel.writable) {
      this.dropped.add(o.numMessages);
      return false;
    }
    target.permits -= o.numMessages;
    target.consumer.channel.sendMessage(o.id, o.entry, 0);
    target.consumer.out.add(o.numMessages, o.entry.byteLength);
    target.consumer.lastConsumedTimestamp = Date.now();
    return true;
  }

  activeConsumerName(): string | undefined {
    return this.activeId === undefined ? undefined : this.consumers.get(this.activeId)?.consumer.name;
  }

  keyRanges(): Map<number, [number, number][]> | undefined {
    return this.selector?.ranges();
  }

  private select(slotOfKey: number): Slot | undefined {
    switch (this.type) {
      case 'Exclusive':
      case 'Failover':
        return this.activeId === undefined ? undefined : this.consumers.get(this.activeId);
      case 'Shared':
        return this.picker.pick(
          this.ordered,
          (s) => s.consumer.priority,
          (s) => s.permits > 0 && s.consumer.channel.writable,
        );
      case 'Key_Shared': {
        const owner = this.selector!.select(slotOfKey);
        return owner === undefined ? undefined : this.consumers.get(owner);
      }
    }
  }

  /** Recompute the active consumer; true when it changed (and everyone was told). */
  private updateActive(): boolean {
    if (this.type !== 'Failover' && this.type !== 'Exclusive') return false;
    const next = chooseActive(
      this.ordered.map((s) => ({ id: s.consumer.id, name: s.consumer.name, priority: s.consumer.priority })),
      this.partitionIndex,
    )?.id;
    if (next === this.activeId) return false;
    this.activeId = next;
    if (this.type === 'Failover') {
      for (const s of this.ordered) s.consumer.channel.sendActiveConsumerChange(s.consumer.id === next);
    }
    return true;
  }
}
