/**
 * TopicAdminOps over the broker's BrokerService (services/broker/service.ts): the broker mounts
 * the admin API with `topics: topicOpsFromBroker(brokerService)`. Converts names, message ids and
 * peeked messages (metadata decoded into Pulsar's X-Pulsar-* facts), and gives the admin API the
 * 404/409 answers BrokerService leaves to its callers.
 */
import { formatNamespace, type TopicName } from '../../../lib/policies/names.ts';
import { EARLIEST_MESSAGE_ID, LATEST_MESSAGE_ID, type MessageId } from '../../../lib/wire/message-id.ts';
import { decodeMetadata, isMetadataProblem } from '../../../lib/wire/metadata.ts';
import type { PeekedMessage as BrokerPeeked, BrokerService } from '../service.ts';
import type { MessageIdData, PeekedMessage, StartPosition, TopicAdminOps } from './deps.ts';
import { adminErrors } from './errors.ts';
import type { PersistentTopicInternalStats, TopicStats } from './stats.ts';

function toData(id: MessageId): MessageIdData {
  const out: MessageIdData = { ledgerId: id.ledgerId, entryId: id.entryId };
  if (id.partition >= 0) out.partitionIndex = id.partition;
  if (id.batchIndex >= 0) out.batchIndex = id.batchIndex;
  return out;
}

function fromData(id: MessageIdData): MessageId {
  return {
    ledgerId: id.ledgerId,
    entryId: id.entryId,
    partition: id.partitionIndex ?? -1,
    batchIndex: id.batchIndex ?? -1,
  };
}

function fromStart(start: StartPosition): 'latest' | 'earliest' | MessageId {
  return typeof start === 'string' ? start : fromData(start);
}

export function toPeeked(m: BrokerPeeked): PeekedMessage {
  const md = decodeMetadata(m.metadata);
  if (isMetadataProblem(md)) {
    return { payload: m.payload, messageId: toData(m.messageId), publishTimeMs: 0, properties: {} };
  }
  const properties: Record<string, string> = {};
  for (const kv of md.properties) properties[kv.key] = kv.value;
  return {
    payload: m.payload,
    messageId: toData(m.messageId),
    publishTimeMs: Number(md.publishTime),
    eventTimeMs: md.eventTime > 0n ? Number(md.eventTime) : undefined,
    producerName: md.producerName || undefined,
    sequenceId: Number(md.sequenceId),
    key: md.partitionKey || undefined,
    properties,
  };
}

export function topicOpsFromBroker(broker: BrokerService): TopicAdminOps {
  const exists = async (t: TopicName) =>
    (await broker.listTopics(formatNamespace(t), t.domain)).includes(t.full);
  const requireTopic = async (t: TopicName) => {
    if (!(await exists(t))) throw adminErrors.make('TOPIC_NOT_FOUND', { topic: t.full });
  };
  const requireSub = async (t: TopicName, sub: string) => {
    await requireTopic(t);
    if (!(await broker.listSubscriptions(t.full)).includes(sub)) {
      throw adminErrors.make('SUBSCRIPTION_NOT_FOUND', { subscription: sub });
    }
  };
  return {
    checkBacklogQuotas: () => broker.checkBacklogQuotas(),
    listTopics: (ns, domain) => broker.listTopics(formatNamespace(ns), domain),
    topicExists: exists,
    createTopic: async (t) => {
      if (await exists(t)) throw adminErrors.make('TOPIC_EXISTS', { topic: t.full });
      await broker.createTopic(t.full);
    },
    deleteTopic: async (t, force) => {
      await requireTopic(t);
      await broker.deleteTopic(t.full, force);
    },
    stats: async (t) => {
      await requireTopic(t);
      return (await broker.topicStats(t.full)) as unknown as TopicStats;
    },
    internalStats: async (t) => {
      await requireTopic(t);
      return (await broker.internalStats(t.full)) as PersistentTopicInternalStats;
    },
    listSubscriptions: async (t) => {
      await requireTopic(t);
      return broker.listSubscriptions(t.full);
    },
    createSubscription: async (t, sub, start) => {
      await requireTopic(t);
      if ((await broker.listSubscriptions(t.full)).includes(sub)) {
        throw adminErrors.make('SUBSCRIPTION_EXISTS', { subscription: sub });
      }
      await broker.createSubscription(t.full, sub, fromStart(start));
    },
    deleteSubscription: async (t, sub, force) => {
      await requireSub(t, sub);
      await broker.deleteSubscription(t.full, sub, force);
    },
    skipMessages: async (t, sub, n) => {
      await requireSub(t, sub);
      await broker.skipMessages(t.full, sub, n);
    },
    skipAllMessages: async (t, sub) => {
      await requireSub(t, sub);
      await broker.clearBacklog(t.full, sub);
    },
    resetCursorToTime: async (t, sub, ts) => {
      await requireSub(t, sub);
      await broker.resetCursorByTime(t.full, sub, ts);
    },
    resetCursorToMessageId: async (t, sub, id, excluded) => {
      await requireSub(t, sub);
      // isExcluded: start after the given message (Pulsar's ResetCursorData).
      const target = excluded ? { ...fromData(id), entryId: id.entryId + 1, batchIndex: -1 } : fromData(id);
      const sentinel =
        id.ledgerId === -1
          ? EARLIEST_MESSAGE_ID
          : id.ledgerId >= LATEST_MESSAGE_ID.ledgerId
            ? LATEST_MESSAGE_ID
            : target;
      await broker.resetCursorToMessageId(t.full, sub, sentinel);
    },
    expireMessages: async (t, sub, seconds) => {
      await requireSub(t, sub);
      await broker.expireMessages(t.full, sub, seconds);
    },
    peekMessage: async (t, sub, position) => {
      await requireSub(t, sub);
      const msgs = await broker.peekMessages(t.full, sub, position);
      const m = msgs[position - 1];
      if (!m)
        throw adminErrors.make('BAD_PARAMETER', {
          name: 'position',
          why: `only ${msgs.length} message(s) in the backlog`,
        });
      return toPeeked(m);
    },
    unloadTopic: (t) => broker.unloadTopic(t.full),
    terminateTopic: async (t) => {
      await requireTopic(t);
      return toData(await broker.terminateTopic(t.full));
    },
  };
}
