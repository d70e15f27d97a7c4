/**
 * Shapes shared by the pure dispatch state machines (no I/O here): what a dispatcher knows about
 * an entry, about a consumer, and what it decides.
 */
import type { Position } from '../managed-ledger/api.ts';

export type { Position };

export const SUBSCRIPTION_TYPES = ['Exclusive', 'Shared', 'Failover', 'Key_Shared'] as const;
export type SubscriptionType = (typeof SUBSCRIPTION_TYPES)[number];

/** Wire value (CommandSubscribe.SubType) → name. */
export function subscriptionTypeOf(wire: number): SubscriptionType | undefined {
  return SUBSCRIPTION_TYPES[wire];
}

/** What dispatch needs to know about one stored entry. */
export interface EntryMeta {
  readonly position: Position;
  /** Messages in the entry (permits it costs). */
  readonly numMessages: number;
  /** Key_Shared slot in [0, 65536) of the entry's sticky key. */
  readonly slot: number;
  /** Delayed delivery time (ms since epoch), if any. */
  readonly deliverAtMs?: number;
}

export interface ConsumerSpec {
  /** Broker-wide unique id of this consumer attachment (not the client's consumer_id). */
  readonly id: number;
  readonly name: string;
  /** Lower value = higher priority. */
  readonly priority: number;
  /** Key_Shared STICKY mode: inclusive slot ranges this consumer asks for. */
  readonly stickyRanges?: readonly (readonly [number, number])[];
}

/** One decision: send this entry to this consumer with this redelivery count. */
export interface Delivery {
  readonly consumerId: number;
  readonly entry: EntryMeta;
  readonly redeliveryCount: number;
}

/** What a driver should read next. */
export type ReadPlan =
  | { readonly kind: 'idle' }
  | { readonly kind: 'replay'; readonly positions: readonly Position[] }
  | { readonly kind: 'read'; readonly maxEntries: number };

export type AddConsumerResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly code: 'CONSUMER_BUSY' | 'CONSUMER_ASSIGN_FAILED';
      readonly reason: string;
    };

/** Per-consumer view for stats. */
export interface ConsumerDispatchStats {
  readonly permits: number;
  readonly unackedMessages: number;
  readonly blockedOnUnacked: boolean;
  readonly pendingEntries: number;
}

export function posKey(p: Position): string {
  return `${p.ledgerId}:${p.entryId}`;
}
