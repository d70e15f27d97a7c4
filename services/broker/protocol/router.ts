/**
 * Command routing after CONNECT: each client command to its handler; commands only a broker
 * sends, and families this broker does not serve, get coded refusals (pulsar-protocol.md §2).
 */
import { type BaseCommand, BaseCommand_Type } from '../../../lib/gen/pulsar/PulsarApi_pb.ts';
import { commandName } from '../../../lib/wire/commands.ts';
import { brokerErrors } from '../errors.ts';
import type { ConnectionHandle } from './context.ts';
import {
  handleAck,
  handleCloseConsumer,
  handleConsumerStats,
  handleFlow,
  handleGetLastMessageId,
  handleRedeliver,
  handleSeek,
  handleSubscribe,
  handleUnsubscribe,
} from './consumer-handlers.ts';
import {
  handleGetOrCreateSchema,
  handleGetSchema,
  handleGetTopicsOfNamespace,
  handleLookup,
  handlePartitionedMetadata,
  refuseTransactionCommand,
  requestIdOf,
} from './discovery-handlers.ts';
import { handleCloseProducer, handleProducer, handleSend } from './producer-handlers.ts';

const T = BaseCommand_Type;

/** Handle one command; returns a promise for asynchronous handlers (errors are logged by the caller). */
export function routeCommand(
  conn: ConnectionHandle,
  cmd: BaseCommand,
  payload: Buffer | undefined,
): Promise<void> | void {
  switch (cmd.type) {
    case T.PING:
      conn.send({ type: T.PONG, pong: {} });
      return;
    case T.PONG:
      return;
    case T.LOOKUP:
      return handleLookup(conn, cmd.lookupTopic!);
    case T.PARTITIONED_METADATA:
      return handlePartitionedMetadata(conn, cmd.partitionMetadata!);
    case T.GET_TOPICS_OF_NAMESPACE:
      return handleGetTopicsOfNamespace(conn, cmd.getTopicsOfNamespace!);
    case T.PRODUCER:
      return handleProducer(conn, cmd.producer!);
    case T.SEND:
      return handleSend(conn, cmd.send!, payload);
    case T.CLOSE_PRODUCER:
      return handleCloseProducer(conn, cmd.closeProducer!);
    case T.SUBSCRIBE:
      return handleSubscribe(conn, cmd.subscribe!);
    case T.FLOW:
      return handleFlow(conn, cmd.flow!);
    case T.ACK:
      return handleAck(conn, cmd.ack!);
    case T.REDELIVER_UNACKNOWLEDGED_MESSAGES:
      return handleRedeliver(conn, cmd.redeliverUnacknowledgedMessages!);
    case T.UNSUBSCRIBE:
      return handleUnsubscribe(conn, cmd.unsubscribe!);
    case T.CLOSE_CONSUMER:
      return handleCloseConsumer(conn, cmd.closeConsumer!);
    case T.SEEK:
      return handleSeek(conn, cmd.seek!);
    case T.GET_LAST_MESSAGE_ID:
      return handleGetLastMessageId(conn, cmd.getLastMessageId!);
    case T.CONSUMER_STATS:
      return handleConsumerStats(conn, cmd.consumerStats!);
    case T.GET_SCHEMA:
      return handleGetSchema(conn, cmd.getSchema!);
    case T.GET_OR_CREATE_SCHEMA:
      return handleGetOrCreateSchema(conn, cmd.getOrCreateSchema!);
    case T.AUTH_RESPONSE:
      // The answer to an AUTH_CHALLENGE (token refresh); without one it is refused.
      return conn.authResponse(cmd.authResponse!);
    case T.TC_CLIENT_CONNECT_REQUEST:
    case T.NEW_TXN:
    case T.ADD_PARTITION_TO_TXN:
    case T.ADD_SUBSCRIPTION_TO_TXN:
    case T.END_TXN:
    case T.END_TXN_ON_PARTITION:
    case T.END_TXN_ON_SUBSCRIPTION:
      refuseTransactionCommand(conn, cmd);
      return;
    case T.WATCH_TOPIC_LIST:
    case T.WATCH_TOPIC_LIST_CLOSE:
      conn.sendError(
        requestIdOf(cmd),
        brokerErrors.make('COMMAND_NOT_SUPPORTED', { command: commandName(cmd.type) }),
      );
      return;
    default:
      // Broker-to-client commands (CONNECTED, MESSAGE, SEND_RECEIPT...) never come from a client.
      conn.sendError(
        requestIdOf(cmd),
        brokerErrors.make('UNEXPECTED_COMMAND', { command: commandName(cmd.type) }),
      );
  }
}
