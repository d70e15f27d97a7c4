/**
 * The connection-facing handle of a consumer on a persistent topic (AttachedConsumer), and the
 * Pulsar-shaped stats of a persistent subscription.
 */
import { isEarliest, isLatest, type MessageId } from '../../../lib/wire/message-id.ts';
import { brokerErrors } from '../errors.ts';
import type { Position } from '../managed-ledger/api.ts';
import type { SubscriptionStats } from '../service.ts';
import { applyAck } from '../subscriptions/acks.ts';
import type { Consumer } from '../subscriptions/consumer.ts';
import { MultiConsumerDispatcher } from '../subscriptions/multi-dispatcher.ts';
import type { PersistentSubscription } from '../subscriptions/persistent-subscription.ts';
import { firstPublishedAtOrAfter } from './entries.ts';
import type { PersistentTopic } from './persistent-topic.ts';
import type { AttachedConsumer, SeekTarget } from './topic.ts';

export function attachPersistentConsumer(
  topic: PersistentTopic,
  sub: PersistentSubscription,
  consumer: Consumer,
): AttachedConsumer {
  let detached = false;
  const detach = async () => {
    if (detached) return;
    detached = true;
    sub.removeConsumer(consumer);
    await topic.dropIfUnused(sub);
  };
  return {
    subscriptionName: sub.name,
    subscriptionType: sub.type,
    flow: (permits) => {
      if (!detached) sub.flow(consumer, permits);
    },
    ack: (req) => applyAck(sub, consumer, req),
    redeliver: (ids) => {
      if (!detached) sub.redeliver(consumer, ids);
    },
    detach,
    unsubscribe: async () => {
      const others = sub.allConsumers().filter((c) => c !== consumer && c.channel.client.alive);
      if (others.length > 0)
        throw brokerErrors.make('SUBSCRIPTION_BUSY', { subscription: sub.name, count: others.length });
      detached = true;
      sub.removeConsumer(consumer);
      await topic.removeSubscription(sub);
    },
    seek: async (target) => {
      const position = await seekPosition(topic, target);
      await sub.reset((cursor) => cursor.resetCursor(position));
    },
    lastMessageId: async () => {
      const last = await topic.lastMessageId();
      const md = sub.cursor.markDeletePosition;
      return { last, markDelete: { ...md, partition: topic.name.partitionIndex, batchIndex: -1 } };
    },
    stats: () => {
      const d = sub.dispatcherView;
      const ranges = d instanceof MultiConsumerDispatcher ? d.keyRanges()?.get(consumer.id) : undefined;
      return consumer.stats(d.consumerStats(consumer.id), ranges);
    },
    backlog: () => sub.cursor.getNumberOfEntriesInBacklog(),
  };
}

/** Where a SEEK (or admin reset) puts the cursor: that message is delivered next. */
export async function seekPosition(topic: PersistentTopic, target: SeekTarget): Promise<Position> {
  const ml = topic.ml;
  const end = ml.nextPosition(ml.lastConfirmedPosition);
  if ('publishTimeMs' in target) return (await firstPublishedAtOrAfter(ml, target.publishTimeMs)) ?? end;
  const id: MessageId = target.messageId;
  if (isEarliest(id)) return ml.firstPosition;
  if (isLatest(id)) return end;
  if (id.ledgerId < 0 || id.entryId < 0) {
    throw brokerErrors.make('INVALID_MESSAGE_ID', {
      id: `${id.ledgerId}:${id.entryId}`,
      reason: 'negative id',
    });
  }
  return { ledgerId: id.ledgerId, entryId: id.entryId };
}

export function subscriptionStatsOf(sub: PersistentSubscription): SubscriptionStats {
  const d = sub.dispatcherView;
  const ranges = d instanceof MultiConsumerDispatcher ? d.keyRanges() : undefined;
  const consumers = sub.allConsumers().map((c) => c.stats(d.consumerStats(c.id), ranges?.get(c.id)));
  const cursor = sub.cursor;
  return {
    msgRateOut: consumers.reduce((n, c) => n + c.msgRateOut, 0),
    msgThroughputOut: consumers.reduce((n, c) => n + c.msgThroughputOut, 0),
    bytesOutCounter: consumers.reduce((n, c) => n + c.bytesOutCounter, 0),
    msgOutCounter: consumers.reduce((n, c) => n + c.msgOutCounter, 0),
    msgRateRedeliver: consumers.reduce((n, c) => n + c.msgRateRedeliver, 0),
    msgBacklog: cursor.getNumberOfEntriesInBacklog(),
    backlogSize: cursor.getEstimatedBacklogSizeBytes(),
    msgDelayed: d instanceof MultiConsumerDispatcher ? d.delayedSize : 0,
    unackedMessages: d.unackedMessages,
    blockedSubscriptionOnUnackedMsgs: d instanceof MultiConsumerDispatcher ? d.blockedOnUnacked : false,
    type: sub.type,
    activeConsumerName: sub.activeConsumerName(),
    isDurable: cursor.durable,
    isReplicated: false,
    lastExpireTimestamp: sub.lastExpireTimestamp,
    lastConsumedTimestamp: Math.max(0, ...sub.allConsumers().map((c) => c.lastConsumedTimestamp)),
    lastAckedTimestamp: Math.max(0, ...sub.allConsumers().map((c) => c.lastAckedTimestamp)),
    consumers,
    subscriptionProperties: { ...cursor.cursorProperties },
  };
}
