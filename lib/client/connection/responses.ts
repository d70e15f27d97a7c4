/**
 * Pure helpers of the connection: the CONNECT command, which request a response answers, and the
 * ServerError a response carries.
 */
import { isFieldSet } from '@bufbuild/protobuf';
import {
  CommandAckResponseSchema,
  CommandConsumerStatsResponseSchema,
  CommandGetSchemaResponseSchema,
} from '../../gen/pulsar/PulsarApi_pb.ts';
import type { CommandInit } from '../../wire/commands.ts';
import { type BaseCommand, CommandTypes, MAX_PROTOCOL_VERSION } from '../../wire/protocol.ts';
import type { Authentication } from '../options.ts';

export const CLIENT_VERSION = 'magnetar-ts-client/0.1.0';

export async function tokenOf(auth: Authentication): Promise<string> {
  return typeof auth.token === 'function' ? await auth.token() : auth.token;
}

export function connectCommand(
  opts: { logicalAddress: string; physicalAddress: string },
  token: string | undefined,
): CommandInit {
  const connect: NonNullable<CommandInit['connect']> = {
    clientVersion: CLIENT_VERSION,
    protocolVersion: MAX_PROTOCOL_VERSION,
    featureFlags: { supportsAuthRefresh: true },
  };
  if (token !== undefined) {
    connect.authMethodName = 'token';
    connect.authData = Buffer.from(token);
  }
  if (opts.logicalAddress !== opts.physicalAddress)
    connect.proxyToBrokerUrl = `pulsar://${opts.logicalAddress}`;
  return { type: CommandTypes.CONNECT, connect };
}

/** The request id a response command answers, if it is a response. */
export function responseRequestId(cmd: BaseCommand): number | undefined {
  const body =
    cmd.success ??
    cmd.error ??
    cmd.producerSuccess ??
    cmd.lookupTopicResponse ??
    cmd.partitionMetadataResponse ??
    cmd.getLastMessageIdResponse ??
    cmd.getTopicsOfNamespaceResponse ??
    cmd.ackResponse ??
    cmd.consumerStatsResponse ??
    cmd.getSchemaResponse ??
    cmd.getOrCreateSchemaResponse;
  const id = (body as { requestId?: bigint } | undefined)?.requestId;
  return id === undefined ? undefined : Number(id);
}

/** ServerError carried by an ERROR or an error-bearing response. */
export function errorOf(cmd: BaseCommand): { code: number; message: string } | undefined {
  if (cmd.error) return { code: cmd.error.error, message: cmd.error.message };
  const ack = cmd.ackResponse;
  if (ack && isFieldSet(ack, CommandAckResponseSchema.field.error))
    return { code: ack.error, message: ack.message };
  const stats = cmd.consumerStatsResponse;
  if (stats && isFieldSet(stats, CommandConsumerStatsResponseSchema.field.errorCode)) {
    return { code: stats.errorCode, message: stats.errorMessage };
  }
  const schema = cmd.getSchemaResponse;
  if (schema && isFieldSet(schema, CommandGetSchemaResponseSchema.field.errorCode)) {
    return { code: schema.errorCode, message: schema.errorMessage };
  }
  return undefined;
}
