/** Consumer-side commands (pulsar-protocol.md §2.8) built from the consumer's state. */
import { CommandAck_AckType as AckType, CommandAck_ValidationError } from '../../gen/pulsar/PulsarApi_pb.ts';
import type { CommandInit } from '../../wire/commands.ts';
import { numberToU64, toMessageIdData } from '../../wire/message-id.ts';
import { CommandTypes, InitialPosition, KeySharedMode, SubType } from '../../wire/protocol.ts';
import type { MessageId } from '../message-id.ts';
import type { AckPosition } from './ack-tracker.ts';
import type { ResolvedConsumerOptions } from './consumer-options.ts';

export interface SubscribeArgs {
  readonly topic: string;
  readonly consumerId: number;
  readonly requestId: number;
  readonly consumerName: string;
  readonly epoch: number;
  /** Start of a non-durable subscription (readers) as sent on the wire. */
  readonly startMessageId: MessageId | undefined;
  readonly rollbackSec: number;
}

export function subscribeCommand(o: ResolvedConsumerOptions, a: SubscribeArgs): CommandInit {
  const ks = o.keySharedPolicy;
  return {
    type: CommandTypes.SUBSCRIBE,
    subscribe: {
      topic: a.topic,
      subscription: o.subscription,
      subType: SubType[o.subscriptionType],
      consumerId: BigInt(a.consumerId),
      requestId: BigInt(a.requestId),
      consumerName: a.consumerName,
      priorityLevel: o.priorityLevel,
      durable: o.durable,
      startMessageId: a.startMessageId ? toMessageIdData(a.startMessageId) : undefined,
      metadata: Object.entries(o.properties).map(([key, value]) => ({ key, value })),
      readCompacted: o.readCompacted,
      initialPosition: o.initialPosition === 'Earliest' ? InitialPosition.Earliest : InitialPosition.Latest,
      replicateSubscriptionState: o.replicateSubscriptionState,
      forceTopicCreation: true,
      startMessageRollbackDurationSec: a.rollbackSec > 0 ? BigInt(a.rollbackSec) : undefined,
      keySharedMeta:
        o.subscriptionType === 'Key_Shared'
          ? {
              keySharedMode: ks?.mode === 'STICKY' ? KeySharedMode.STICKY : KeySharedMode.AUTO_SPLIT,
              hashRanges: (ks?.hashRanges ?? []).map(([start, end]) => ({ start, end })),
              allowOutOfOrderDelivery: ks?.allowOutOfOrderDelivery ?? false,
            }
          : undefined,
      consumerEpoch: BigInt(a.epoch),
    },
  };
}

function positionData(p: AckPosition, partition: number) {
  const d = toMessageIdData({ ledgerId: p.ledgerId, entryId: p.entryId, partition });
  if (p.ackSet) {
    d.ackSet = p.ackSet;
    d.batchSize = p.batchSize;
  }
  return d;
}

export function ackCommand(
  consumerId: number,
  partition: number,
  cumulative: boolean,
  positions: readonly AckPosition[],
  requestId?: number,
  validationError?: CommandAck_ValidationError,
): CommandInit {
  return {
    type: CommandTypes.ACK,
    ack: {
      consumerId: BigInt(consumerId),
      ackType: cumulative ? AckType.Cumulative : AckType.Individual,
      messageId: positions.map((p) => positionData(p, partition)),
      requestId: requestId === undefined ? undefined : BigInt(requestId),
      validationError,
    },
  };
}

export function flowCommand(consumerId: number, permits: number): CommandInit {
  return { type: CommandTypes.FLOW, flow: { consumerId: BigInt(consumerId), messagePermits: permits } };
}

/** Redeliver the given entries (Shared/Key_Shared), or everything unacked when `ids` is empty. */
export function redeliverCommand(consumerId: number, ids: readonly MessageId[], epoch?: number): CommandInit {
  return {
    type: CommandTypes.REDELIVER_UNACKNOWLEDGED_MESSAGES,
    redeliverUnacknowledgedMessages: {
      consumerId: BigInt(consumerId),
      messageIds: ids.map((id) =>
        toMessageIdData({ ledgerId: id.ledgerId, entryId: id.entryId, partition: id.partition }),
      ),
      consumerEpoch: epoch === undefined ? undefined : BigInt(epoch),
    },
  };
}

export function seekCommand(consumerId: number, requestId: number, target: MessageId | number): CommandInit {
  return {
    type: CommandTypes.SEEK,
    seek:
      typeof target === 'number'
        ? {
            consumerId: BigInt(consumerId),
            requestId: BigInt(requestId),
            messagePublishTime: numberToU64(target),
          }
        : {
            consumerId: BigInt(consumerId),
            requestId: BigInt(requestId),
            messageId: toMessageIdData({
              ledgerId: target.ledgerId,
              entryId: target.entryId,
              partition: target.partition,
            }),
          },
  };
}

export { CommandAck_ValidationError as ValidationError };

/** A command addressed to one consumer with a request id (CLOSE_CONSUMER, UNSUBSCRIBE, GET_LAST_MESSAGE_ID). */
export function consumerRequest(
  kind: 'close' | 'unsubscribe' | 'lastMessageId',
  consumerId: number,
  requestId: number,
): CommandInit {
  const body = { consumerId: BigInt(consumerId), requestId: BigInt(requestId) };
  switch (kind) {
    case 'close':
      return { type: CommandTypes.CLOSE_CONSUMER, closeConsumer: body };
    case 'unsubscribe':
      return { type: CommandTypes.UNSUBSCRIBE, unsubscribe: body };
    case 'lastMessageId':
      return { type: CommandTypes.GET_LAST_MESSAGE_ID, getLastMessageId: body };
  }
}
