/**
 * One consumer attached to a subscription: its client channel, identity and counters. Shared by
 * persistent and non-persistent subscriptions.
 */
import type { ConsumerStats } from '../service.ts';
import { TrafficMeter, RateMeter } from '../topics/rates.ts';
import type { ConsumerChannel } from '../topics/topic.ts';
import type { ConsumerDispatchStats } from './types.ts';

let nextConsumerId = 1;

export class Consumer {
  readonly id = nextConsumerId++;
  readonly channel: ConsumerChannel;
  readonly name: string;
  readonly priority: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly out = new TrafficMeter();
  readonly redelivered = new RateMeter();
  lastAckedTimestamp = 0;
  lastConsumedTimestamp = 0;

  constructor(
    channel: ConsumerChannel,
    name: string,
    priority: number,
    metadata: Readonly<Record<string, string>>,
  ) {
    this.channel = channel;
    this.name = name;
    this.priority = priority;
    this.metadata = metadata;
  }

  stats(dispatch: ConsumerDispatchStats | undefined, keyHashRanges?: [number, number][]): ConsumerStats {
    const c = this.channel.client;
    const s: ConsumerStats = {
      msgRateOut: this.out.msgs.rate(),
      msgThroughputOut: this.out.bytes.rate(),
      bytesOutCounter: this.out.bytes.total,
      msgOutCounter: this.out.msgs.total,
      msgRateRedeliver: this.redelivered.rate(),
      consumerName: this.name,
      availablePermits: dispatch?.permits ?? 0,
      unackedMessages: dispatch?.unackedMessages ?? 0,
      blockedConsumerOnUnackedMsgs: dispatch?.blockedOnUnacked ?? false,
      address: c.address,
      connectedSince: c.connectedSince,
      clientVersion: c.clientVersion,
      lastAckedTimestamp: this.lastAckedTimestamp,
      lastConsumedTimestamp: this.lastConsumedTimestamp,
      metadata: { ...this.metadata },
    };
    if (keyHashRanges) s.keyHashRanges = keyHashRanges.map(([a, b]) => `[${a}, ${b}]`);
    return s;
  }
}
