/** Producer-side commands (pulsar-protocol.md §2.7). */
import type { CommandInit } from '../../wire/commands.ts';
import { CommandTypes, ProducerAccessMode } from '../../wire/protocol.ts';
import type { ResolvedProducerOptions } from './producer-options.ts';

export interface ProducerArgs {
  readonly topic: string;
  readonly producerId: number;
  readonly requestId: number;
  /** The name the broker gave the first time (kept across reconnects). */
  readonly producerName: string | undefined;
  readonly epoch: number;
}

export function producerCommand(o: ResolvedProducerOptions, a: ProducerArgs): CommandInit {
  return {
    type: CommandTypes.PRODUCER,
    producer: {
      topic: a.topic,
      producerId: BigInt(a.producerId),
      requestId: BigInt(a.requestId),
      producerName: a.producerName,
      userProvidedProducerName: o.producerName !== undefined,
      epoch: BigInt(a.epoch),
      producerAccessMode: ProducerAccessMode[o.accessMode],
      metadata: Object.entries(o.properties).map(([key, value]) => ({ key, value })),
      initialSubscriptionName: o.initialSubscriptionName,
    },
  };
}

export function closeProducerCommand(producerId: number, requestId: number): CommandInit {
  return {
    type: CommandTypes.CLOSE_PRODUCER,
    closeProducer: { producerId: BigInt(producerId), requestId: BigInt(requestId) },
  };
}
