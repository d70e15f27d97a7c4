/**
 * LOOKUP, PARTITIONED_METADATA, GET_TOPICS_OF_NAMESPACE, and the optional command families this
 * broker answers with a coded refusal (schemas, transactions, topic watchers) so clients fail the
 * operation cleanly instead of waiting (pulsar-protocol.md §2.6, §2.9, §5.2).
 */
import {
  BaseCommand_Type,
  type CommandGetOrCreateSchema,
  type CommandGetSchema,
  type CommandGetTopicsOfNamespace,
  CommandGetTopicsOfNamespace_Mode,
  type CommandLookupTopic,
  CommandLookupTopicResponse_LookupType,
  type CommandPartitionedTopicMetadata,
  CommandPartitionedTopicMetadataResponse_LookupType,
  type BaseCommand,
} from '../../../lib/gen/pulsar/PulsarApi_pb.ts';
import { crc32c } from '../../../lib/util/crc32c.ts';
import {
  isTopicNameProblem,
  parseNamespaceName,
  parseTopicName,
  type TopicName,
} from '../../../lib/wire/topic-name.ts';
import { brokerErrors, toServerError } from '../errors.ts';
import type { ConnectionHandle } from './context.ts';

export async function handleLookup(conn: ConnectionHandle, cmd: CommandLookupTopic): Promise<void> {
  const failed = (err: unknown) => {
    const e = toServerError(err);
    conn.send({
      type: BaseCommand_Type.LOOKUP_RESPONSE,
      lookupTopicResponse: {
        requestId: cmd.requestId,
        response: CommandLookupTopicResponse_LookupType.Failed,
        error: e.code,
        message: e.message,
      },
    });
  };
  const name = parseTopicName(cmd.topic);
  if (isTopicNameProblem(name))
    return failed(brokerErrors.make('INVALID_TOPIC_NAME', { detail: name.detail }));
  try {
    await conn.authorize(name, 'lookup');
  } catch (err) {
    return failed(err);
  }
  const ownership = conn.ctx.ownership;
  if (ownership) {
    ownership.lookupTopic(name.full, { authoritative: cmd.authoritative }).then(
      (r) =>
        conn.send({
          type: BaseCommand_Type.LOOKUP_RESPONSE,
          lookupTopicResponse: {
            requestId: cmd.requestId,
            response: r.redirect
              ? CommandLookupTopicResponse_LookupType.Redirect
              : CommandLookupTopicResponse_LookupType.Connect,
            brokerServiceUrl: r.brokerServiceUrl,
            ...(r.brokerServiceUrlTls ? { brokerServiceUrlTls: r.brokerServiceUrlTls } : {}),
            authoritative: r.authoritative,
            proxyThroughServiceUrl: false,
          },
        }),
      failed,
    );
    return;
  }
  // Without cluster ownership every topic is served here.
  conn.send({
    type: BaseCommand_Type.LOOKUP_RESPONSE,
    lookupTopicResponse: {
      requestId: cmd.requestId,
      response: CommandLookupTopicResponse_LookupType.Connect,
      brokerServiceUrl: conn.ctx.brokerServiceUrl,
      authoritative: true,
      proxyThroughServiceUrl: false,
    },
  });
}

export async function handlePartitionedMetadata(
  conn: ConnectionHandle,
  cmd: CommandPartitionedTopicMetadata,
): Promise<void> {
  const fail = (err: unknown) => {
    const e = toServerError(err);
    conn.send({
      type: BaseCommand_Type.PARTITIONED_METADATA_RESPONSE,
      partitionMetadataResponse: {
        requestId: cmd.requestId,
        response: CommandPartitionedTopicMetadataResponse_LookupType.Failed,
        error: e.code,
        message: e.message,
      },
    });
  };
  const name = parseTopicName(cmd.topic);
  if (isTopicNameProblem(name)) return fail(brokerErrors.make('INVALID_TOPIC_NAME', { detail: name.detail }));
  try {
    await conn.authorize(name, 'lookup');
    const partitions = await partitionCount(conn, name);
    conn.send({
      type: BaseCommand_Type.PARTITIONED_METADATA_RESPONSE,
      partitionMetadataResponse: {
        requestId: cmd.requestId,
        partitions,
        response: CommandPartitionedTopicMetadataResponse_LookupType.Success,
      },
    });
  } catch (err) {
    fail(err);
  }
}

/**
 * Partitions of a topic for PARTITIONED_METADATA: recorded metadata wins; a partition or an
 * existing non-partitioned topic is 0; an unknown topic is auto-created as partitioned when the
 * policy says so, else 0 (it is created non-partitioned, or refused, on PRODUCER/SUBSCRIBE).
 */
async function partitionCount(conn: ConnectionHandle, name: TopicName): Promise<number> {
  if (name.partitionIndex >= 0) return 0;
  const { policies, topics } = conn.ctx;
  const recorded = await policies.partitions(name);
  if (recorded !== undefined) return recorded;
  if (await topics.exists(name)) return 0;
  const auto = await policies.autoCreation(name);
  if (!auto.allowed || auto.partitions === 0) return 0;
  await policies.createPartitionedMetadata(name, auto.partitions);
  return (await policies.partitions(name)) ?? auto.partitions;
}

export async function handleGetTopicsOfNamespace(
  conn: ConnectionHandle,
  cmd: CommandGetTopicsOfNamespace,
): Promise<void> {
  const ns = parseNamespaceName(cmd.namespace);
  if ('kind' in ns)
    return conn.sendError(cmd.requestId, brokerErrors.make('INVALID_TOPIC_NAME', { detail: ns.detail }));
  try {
    await conn.authorizeListTopics(`${ns.tenant}/${ns.namespace}`);
    const { topics } = conn.ctx;
    const names = new Set<string>();
    if (cmd.mode !== CommandGetTopicsOfNamespace_Mode.NON_PERSISTENT) {
      for (const t of await topics.listPersistent(ns.tenant, ns.namespace)) names.add(t);
    }
    for (const t of topics.loadedTopics()) {
      if (t.name.tenant !== ns.tenant || t.name.namespace !== ns.namespace) continue;
      const wanted =
        cmd.mode === CommandGetTopicsOfNamespace_Mode.ALL ||
        (cmd.mode === CommandGetTopicsOfNamespace_Mode.NON_PERSISTENT) === !t.persistent;
      if (wanted) names.add(t.name.full);
    }
    let list = [...names].sort();
    let filtered = false;
    if (cmd.topicsPattern !== '') {
      const re = safeRegExp(cmd.topicsPattern);
      if (re) {
        list = list.filter((t) => re.test(t));
        filtered = true;
      }
    }
    const hash = topicsHash(list);
    const unchanged = cmd.topicsHash !== '' && cmd.topicsHash === hash;
    conn.send({
      type: BaseCommand_Type.GET_TOPICS_OF_NAMESPACE_RESPONSE,
      getTopicsOfNamespaceResponse: {
        requestId: cmd.requestId,
        topics: unchanged ? [] : list,
        filtered,
        topicsHash: hash,
        changed: !unchanged,
      },
    });
  } catch (err) {
    conn.sendError(cmd.requestId, err);
  }
}

/** A client-supplied pattern (Java regex syntax, mostly compatible); undefined if unusable. */
function safeRegExp(pattern: string): RegExp | undefined {
  if (pattern.length > 1024) return undefined;
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch {
    return undefined;
  }
}

/** CRC32C over the sorted names, as a decimal string (clients only echo it back). */
function topicsHash(sorted: readonly string[]): string {
  let crc = 0;
  for (const t of sorted) crc = crc32c(Buffer.from(t), crc);
  return String(crc);
}

export function handleGetSchema(conn: ConnectionHandle, cmd: CommandGetSchema): void {
  const e = toServerError(brokerErrors.make('SCHEMA_NOT_FOUND', { topic: cmd.topic }));
  conn.send({
    type: BaseCommand_Type.GET_SCHEMA_RESPONSE,
    getSchemaResponse: { requestId: cmd.requestId, errorCode: e.code, errorMessage: e.message },
  });
}

export function handleGetOrCreateSchema(conn: ConnectionHandle, cmd: CommandGetOrCreateSchema): void {
  // Schemas are accepted without being stored or checked: every schema is version 0.
  conn.send({
    type: BaseCommand_Type.GET_OR_CREATE_SCHEMA_RESPONSE,
    getOrCreateSchemaResponse: { requestId: cmd.requestId, schemaVersion: new Uint8Array(8) },
  });
}

/** Transaction commands: each answered with its own response type carrying the refusal. */
export function refuseTransactionCommand(conn: ConnectionHandle, cmd: BaseCommand) {
  const e = toServerError(brokerErrors.make('TRANSACTIONS_DISABLED'));
  const requestId = requestIdOf(cmd);
  const body = { requestId, error: e.code, message: e.message };
  switch (cmd.type) {
    case BaseCommand_Type.TC_CLIENT_CONNECT_REQUEST:
      return conn.send({ type: BaseCommand_Type.TC_CLIENT_CONNECT_RESPONSE, tcClientConnectResponse: body });
    case BaseCommand_Type.NEW_TXN:
      return conn.send({ type: BaseCommand_Type.NEW_TXN_RESPONSE, newTxnResponse: body });
    case BaseCommand_Type.ADD_PARTITION_TO_TXN:
      return conn.send({
        type: BaseCommand_Type.ADD_PARTITION_TO_TXN_RESPONSE,
        addPartitionToTxnResponse: body,
      });
    case BaseCommand_Type.ADD_SUBSCRIPTION_TO_TXN:
      return conn.send({
        type: BaseCommand_Type.ADD_SUBSCRIPTION_TO_TXN_RESPONSE,
        addSubscriptionToTxnResponse: body,
      });
    case BaseCommand_Type.END_TXN:
      return conn.send({ type: BaseCommand_Type.END_TXN_RESPONSE, endTxnResponse: body });
    case BaseCommand_Type.END_TXN_ON_PARTITION:
      return conn.send({
        type: BaseCommand_Type.END_TXN_ON_PARTITION_RESPONSE,
        endTxnOnPartitionResponse: body,
      });
    case BaseCommand_Type.END_TXN_ON_SUBSCRIPTION:
      return conn.send({
        type: BaseCommand_Type.END_TXN_ON_SUBSCRIPTION_RESPONSE,
        endTxnOnSubscriptionResponse: body,
      });
    default:
      conn.sendError(requestId, brokerErrors.make('TRANSACTIONS_DISABLED'));
  }
}

/** The request id of any command that has one (0 otherwise). */
export function requestIdOf(cmd: BaseCommand): bigint {
  const name = Object.keys(cmd).find((k) => k !== 'type' && k !== '$typeName');
  const body = name ? (cmd as unknown as Record<string, { requestId?: unknown }>)[name] : undefined;
  return typeof body?.requestId === 'bigint' ? body.requestId : 0n;
}
