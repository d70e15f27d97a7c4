/**
 * SUBSCRIBE, FLOW, ACK, REDELIVER_UNACKNOWLEDGED_MESSAGES, UNSUBSCRIBE, CLOSE_CONSUMER, SEEK,
 * GET_LAST_MESSAGE_ID and CONSUMER_STATS (pulsar-protocol.md §2.8, §3.4-3.8).
 */
import { isFieldSet } from '@bufbuild/protobuf';
import {
  BaseCommand_Type,
  type CommandAck,
  CommandAckSchema,
  CommandAck_AckType,
  type CommandCloseConsumer,
  type CommandConsumerStats,
  type CommandFlow,
  type CommandGetLastMessageId,
  type CommandRedeliverUnacknowledgedMessages,
  type CommandSeek,
  CommandSeekSchema,
  type CommandSubscribe,
  CommandSubscribeSchema,
  CommandSubscribe_InitialPosition,
  type CommandUnsubscribe,
  KeySharedMode,
} from '../../../lib/gen/pulsar/PulsarApi_pb.ts';
import { fromMessageIdData, toMessageIdData, u64ToNumber } from '../../../lib/wire/message-id.ts';
import { isTopicNameProblem, parseTopicName } from '../../../lib/wire/topic-name.ts';
import { brokerErrors, toServerError } from '../errors.ts';
import { subscriptionTypeOf } from '../subscriptions/types.ts';
import type { AckRequest, SubscribeRequest } from '../topics/topic.ts';
import type { ConnectionHandle } from './context.ts';
import { ConsumerSession } from './consumer-session.ts';

const MAX_SUBSCRIPTION_NAME_CHARS = 512;
/** Subscription names the broker keeps for itself (the dedup cursor). */
export const RESERVED_SUBSCRIPTION_PREFIX = 'pulsar.dedup';

export async function handleSubscribe(conn: ConnectionHandle, cmd: CommandSubscribe): Promise<void> {
  const { consumerId, requestId } = cmd;
  const existing = conn.consumers.get(consumerId);
  if (existing) {
    if (existing.state === 'ready')
      return conn.send({ type: BaseCommand_Type.SUCCESS, success: { requestId } });
    return conn.sendError(
      requestId,
      brokerErrors.make('DUPLICATE_ID_PENDING', { kind: 'consumer', id: String(consumerId) }),
    );
  }
  if (conn.consumers.size >= conn.ctx.config.maxConsumersPerConnection) {
    return conn.sendError(
      requestId,
      brokerErrors.make('TOO_MANY_REQUESTS', {
        what: 'consumers per connection',
        max: conn.ctx.config.maxConsumersPerConnection,
      }),
    );
  }
  const name = parseTopicName(cmd.topic);
  if (isTopicNameProblem(name))
    return conn.sendError(requestId, brokerErrors.make('INVALID_TOPIC_NAME', { detail: name.detail }));
  const req = subscribeRequest(conn, cmd);
  if ('error' in req) return conn.sendError(requestId, req.error);
  conn.consumers.set(consumerId, { state: 'creating', requestId });
  const session = new ConsumerSession(conn, consumerId);
  try {
    await conn.authorize(name, 'consume', req.subscription);
    const topic = await conn.ctx.topics.getTopic(name, { create: cmd.forceTopicCreation });
    const attached = await topic.subscribe(req, session);
    conn.ctx.metrics.consumers.inc();
    if (conn.consumers.get(consumerId)?.state !== 'creating' || !conn.client.alive) {
      session.end();
      await attached.detach();
      return;
    }
    conn.consumers.set(consumerId, { state: 'ready', session, attached });
    conn.send({ type: BaseCommand_Type.SUCCESS, success: { requestId } });
  } catch (err) {
    if (conn.consumers.get(consumerId)?.state === 'creating') conn.consumers.delete(consumerId);
    conn.sendError(requestId, err);
  }
}

function subscribeRequest(
  conn: ConnectionHandle,
  cmd: CommandSubscribe,
): SubscribeRequest | { error: unknown } {
  const type = subscriptionTypeOf(cmd.subType);
  if (!type)
    return {
      error: brokerErrors.make('MALFORMED_COMMAND', { detail: `unknown subscription type ${cmd.subType}` }),
    };
  const sub = cmd.subscription;
  const badName = (reason: string) => ({
    error: brokerErrors.make('INVALID_SUBSCRIPTION_NAME', { name: sub.slice(0, 100), reason }),
  });
  if (sub.length === 0) return badName('empty');
  if (sub.length > MAX_SUBSCRIPTION_NAME_CHARS)
    return badName(`longer than ${MAX_SUBSCRIPTION_NAME_CHARS} characters`);
  if (sub.startsWith(RESERVED_SUBSCRIPTION_PREFIX)) return badName('reserved for the broker');
  const ks = cmd.keySharedMeta;
  return {
    subscription: sub,
    type,
    consumerName: cmd.consumerName !== '' ? cmd.consumerName : conn.ctx.generateConsumerName(),
    priority: cmd.priorityLevel,
    durable: cmd.durable,
    initialPosition:
      cmd.initialPosition === CommandSubscribe_InitialPosition.Earliest ? 'Earliest' : 'Latest',
    startMessageId: cmd.startMessageId ? fromMessageIdData(cmd.startMessageId) : undefined,
    startRollbackDurationSec: isFieldSet(cmd, CommandSubscribeSchema.field.startMessageRollbackDurationSec)
      ? u64ToNumber(cmd.startMessageRollbackDurationSec)
      : 0,
    keySharedMode: ks?.keySharedMode === KeySharedMode.STICKY ? 'sticky' : 'auto-split',
    stickyRanges: ks?.hashRanges.map((r) => [r.start, r.end] as const),
    allowOutOfOrder: ks?.allowOutOfOrderDelivery ?? false,
    metadata: Object.fromEntries(cmd.metadata.map((kv) => [kv.key, kv.value])),
    subscriptionProperties: Object.fromEntries(cmd.subscriptionProperties.map((kv) => [kv.key, kv.value])),
    replicated: cmd.replicateSubscriptionState,
  };
}

export function handleFlow(conn: ConnectionHandle, cmd: CommandFlow): void {
  const slot = conn.consumers.get(cmd.consumerId);
  if (slot?.state === 'ready') slot.attached.flow(cmd.messagePermits);
  else conn.ctx.metrics.protocolErrors.inc({ kind: 'flow-unknown-consumer' });
}

export async function handleAck(conn: ConnectionHandle, cmd: CommandAck): Promise<void> {
  const respond = isFieldSet(cmd, CommandAckSchema.field.requestId);
  const reply = (err?: unknown) => {
    if (!respond) return;
    const e = err === undefined ? undefined : toServerError(err);
    conn.send({
      type: BaseCommand_Type.ACK_RESPONSE,
      ackResponse: {
        consumerId: cmd.consumerId,
        requestId: cmd.requestId,
        ...(e ? { error: e.code, message: e.message } : {}),
      },
    });
  };
  const slot = conn.consumers.get(cmd.consumerId);
  if (slot?.state !== 'ready')
    return reply(brokerErrors.make('CONSUMER_NOT_FOUND', { consumerId: String(cmd.consumerId) }));
  const type = cmd.ackType === CommandAck_AckType.Cumulative ? 'cumulative' : 'individual';
  if (cmd.messageId.length === 0 || (type === 'cumulative' && cmd.messageId.length !== 1)) {
    return reply(
      brokerErrors.make('MALFORMED_COMMAND', {
        detail: `${type} ACK with ${cmd.messageId.length} message ids`,
      }),
    );
  }
  const req: AckRequest = {
    type,
    ids: cmd.messageId.map((m) => {
      const id = fromMessageIdData(m);
      return m.ackSet.length > 0
        ? {
            ledgerId: id.ledgerId,
            entryId: id.entryId,
            batchIndex: id.batchIndex,
            ackSet: m.ackSet,
            batchSize: m.batchSize,
          }
        : { ledgerId: id.ledgerId, entryId: id.entryId, batchIndex: id.batchIndex };
    }),
  };
  try {
    await slot.attached.ack(req);
    reply();
  } catch (err) {
    reply(err);
  }
}

export function handleRedeliver(conn: ConnectionHandle, cmd: CommandRedeliverUnacknowledgedMessages): void {
  const slot = conn.consumers.get(cmd.consumerId);
  if (slot?.state !== 'ready') return;
  const ids = cmd.messageIds.map((m) => {
    const id = fromMessageIdData(m);
    return { ledgerId: id.ledgerId, entryId: id.entryId };
  });
  slot.attached.redeliver(ids.length > 0 ? ids : undefined);
}

export async function handleUnsubscribe(conn: ConnectionHandle, cmd: CommandUnsubscribe): Promise<void> {
  const slot = conn.consumers.get(cmd.consumerId);
  if (slot?.state !== 'ready') {
    return conn.sendError(
      cmd.requestId,
      brokerErrors.make('CONSUMER_NOT_FOUND', { consumerId: String(cmd.consumerId) }),
    );
  }
  try {
    await slot.attached.unsubscribe();
    slot.session.end();
    conn.consumers.delete(cmd.consumerId);
    conn.send({ type: BaseCommand_Type.SUCCESS, success: { requestId: cmd.requestId } });
  } catch (err) {
    conn.sendError(cmd.requestId, err);
  }
}

export async function handleCloseConsumer(conn: ConnectionHandle, cmd: CommandCloseConsumer): Promise<void> {
  const slot = conn.consumers.get(cmd.consumerId);
  conn.consumers.delete(cmd.consumerId);
  if (slot?.state === 'ready') {
    slot.session.end();
    await slot.attached.detach();
  }
  conn.send({ type: BaseCommand_Type.SUCCESS, success: { requestId: cmd.requestId } });
}

export async function handleSeek(conn: ConnectionHandle, cmd: CommandSeek): Promise<void> {
  const slot = conn.consumers.get(cmd.consumerId);
  if (slot?.state !== 'ready') {
    return conn.sendError(
      cmd.requestId,
      brokerErrors.make('CONSUMER_NOT_FOUND', { consumerId: String(cmd.consumerId) }),
    );
  }
  let target: { messageId: ReturnType<typeof fromMessageIdData> } | { publishTimeMs: number };
  if (cmd.messageId) target = { messageId: fromMessageIdData(cmd.messageId) };
  else if (isFieldSet(cmd, CommandSeekSchema.field.messagePublishTime))
    target = { publishTimeMs: u64ToNumber(cmd.messagePublishTime) };
  else
    return conn.sendError(
      cmd.requestId,
      brokerErrors.make('MALFORMED_COMMAND', { detail: 'SEEK without message id or publish time' }),
    );
  try {
    await slot.attached.seek(target);
    conn.send({ type: BaseCommand_Type.SUCCESS, success: { requestId: cmd.requestId } });
  } catch (err) {
    conn.sendError(cmd.requestId, err);
  }
}

export async function handleGetLastMessageId(
  conn: ConnectionHandle,
  cmd: CommandGetLastMessageId,
): Promise<void> {
  const slot = conn.consumers.get(cmd.consumerId);
  if (slot?.state !== 'ready') {
    return conn.sendError(
      cmd.requestId,
      brokerErrors.make('CONSUMER_NOT_FOUND', { consumerId: String(cmd.consumerId) }),
    );
  }
  try {
    const { last, markDelete } = await slot.attached.lastMessageId();
    conn.send({
      type: BaseCommand_Type.GET_LAST_MESSAGE_ID_RESPONSE,
      getLastMessageIdResponse: {
        requestId: cmd.requestId,
        lastMessageId: toMessageIdData(last),
        ...(markDelete ? { consumerMarkDeletePosition: toMessageIdData(markDelete) } : {}),
      },
    });
  } catch (err) {
    conn.sendError(cmd.requestId, err);
  }
}

export function handleConsumerStats(conn: ConnectionHandle, cmd: CommandConsumerStats) {
  const slot = conn.consumers.get(cmd.consumerId);
  if (slot?.state !== 'ready') {
    const e = toServerError(brokerErrors.make('CONSUMER_NOT_FOUND', { consumerId: String(cmd.consumerId) }));
    return conn.send({
      type: BaseCommand_Type.CONSUMER_STATS_RESPONSE,
      consumerStatsResponse: { requestId: cmd.requestId, errorCode: e.code, errorMessage: e.message },
    });
  }
  const s = slot.attached.stats();
  conn.send({
    type: BaseCommand_Type.CONSUMER_STATS_RESPONSE,
    consumerStatsResponse: {
      requestId: cmd.requestId,
      msgRateOut: s.msgRateOut,
      msgThroughputOut: s.msgThroughputOut,
      msgRateRedeliver: s.msgRateRedeliver,
      consumerName: s.consumerName,
      availablePermits: BigInt(Math.max(0, s.availablePermits)),
      unackedMessages: BigInt(Math.max(0, s.unackedMessages)),
      blockedConsumerOnUnackedMsgs: s.blockedConsumerOnUnackedMsgs,
      address: s.address,
      connectedSince: s.connectedSince,
      type: slot.attached.subscriptionType,
      msgBacklog: BigInt(Math.max(0, slot.attached.backlog())),
    },
  });
}
