/**
 * BaseCommand encoding and decoding (pulsar-protocol.md §2). A command is the envelope's `type`
 * plus exactly one sub-message whose field number equals the type number. Encoders refuse to
 * build a command without its sub-message (some clients crash on one); the decoder reports
 * undecodable bytes, unknown types, missing sub-messages and missing required fields as data.
 */
import { create, fromBinary, isFieldSet, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { type BaseCommand, BaseCommand_Type, BaseCommandSchema } from '../gen/pulsar/PulsarApi_pb.ts';
import { encodePayloadFrameHead, encodeSimpleFrame } from './frame.ts';

export type CommandType = BaseCommand_Type;
export type CommandInit = MessageInitShape<typeof BaseCommandSchema>;

/** Sub-message field of each command type (field number == type number). */
const BODY_FIELD = new Map<number, DescField>();
for (const field of BaseCommandSchema.fields) {
  if (field.number > 1) BODY_FIELD.set(field.number, field);
}

const TYPE_NAME = new Map<number, string>(
  Object.entries(BaseCommand_Type).map(([name, value]) => [value as number, name]),
);

/** "SEND", "PING"... or "UNKNOWN(n)". */
export function commandName(type: number): string {
  return TYPE_NAME.get(type) ?? `UNKNOWN(${type})`;
}

/** The name of the sub-message property holding the body of commands of this type. */
export function bodyFieldName(type: number): string | undefined {
  return BODY_FIELD.get(type)?.localName;
}

/**
 * Required fields per command type (proto2 `required` in the reference protocol). Our .proto
 * declares them optional so that their absence is reported here, with the field's name.
 */
const REQUIRED: Partial<Record<number, readonly string[]>> = {
  [BaseCommand_Type.CONNECT]: ['clientVersion'],
  [BaseCommand_Type.CONNECTED]: ['serverVersion'],
  [BaseCommand_Type.SUBSCRIBE]: ['topic', 'subscription', 'subType', 'consumerId', 'requestId'],
  [BaseCommand_Type.PRODUCER]: ['topic', 'producerId', 'requestId'],
  [BaseCommand_Type.SEND]: ['producerId', 'sequenceId'],
  [BaseCommand_Type.SEND_RECEIPT]: ['producerId', 'sequenceId'],
  [BaseCommand_Type.SEND_ERROR]: ['producerId', 'sequenceId', 'error', 'message'],
  [BaseCommand_Type.MESSAGE]: ['consumerId', 'messageId'],
  [BaseCommand_Type.ACK]: ['consumerId', 'ackType'],
  [BaseCommand_Type.FLOW]: ['consumerId', 'messagePermits'],
  [BaseCommand_Type.UNSUBSCRIBE]: ['consumerId', 'requestId'],
  [BaseCommand_Type.SUCCESS]: ['requestId'],
  [BaseCommand_Type.ERROR]: ['requestId', 'error', 'message'],
  [BaseCommand_Type.CLOSE_PRODUCER]: ['producerId', 'requestId'],
  [BaseCommand_Type.CLOSE_CONSUMER]: ['consumerId', 'requestId'],
  [BaseCommand_Type.PRODUCER_SUCCESS]: ['requestId', 'producerName'],
  [BaseCommand_Type.REDELIVER_UNACKNOWLEDGED_MESSAGES]: ['consumerId'],
  [BaseCommand_Type.PARTITIONED_METADATA]: ['topic', 'requestId'],
  [BaseCommand_Type.PARTITIONED_METADATA_RESPONSE]: ['requestId'],
  [BaseCommand_Type.LOOKUP]: ['topic', 'requestId'],
  [BaseCommand_Type.LOOKUP_RESPONSE]: ['requestId'],
  [BaseCommand_Type.CONSUMER_STATS]: ['requestId', 'consumerId'],
  [BaseCommand_Type.CONSUMER_STATS_RESPONSE]: ['requestId'],
  [BaseCommand_Type.REACHED_END_OF_TOPIC]: ['consumerId'],
  [BaseCommand_Type.SEEK]: ['consumerId', 'requestId'],
  [BaseCommand_Type.GET_LAST_MESSAGE_ID]: ['consumerId', 'requestId'],
  [BaseCommand_Type.GET_LAST_MESSAGE_ID_RESPONSE]: ['lastMessageId', 'requestId'],
  [BaseCommand_Type.ACTIVE_CONSUMER_CHANGE]: ['consumerId'],
  [BaseCommand_Type.GET_TOPICS_OF_NAMESPACE]: ['requestId', 'namespace'],
  [BaseCommand_Type.GET_TOPICS_OF_NAMESPACE_RESPONSE]: ['requestId'],
  [BaseCommand_Type.GET_SCHEMA]: ['requestId', 'topic'],
  [BaseCommand_Type.GET_SCHEMA_RESPONSE]: ['requestId'],
  [BaseCommand_Type.ACK_RESPONSE]: ['consumerId'],
  [BaseCommand_Type.GET_OR_CREATE_SCHEMA]: ['requestId', 'topic', 'schema'],
  [BaseCommand_Type.GET_OR_CREATE_SCHEMA_RESPONSE]: ['requestId'],
};

export type CommandProblem =
  | { readonly kind: 'undecodable'; readonly detail: string }
  | { readonly kind: 'unknown-type'; readonly detail: string }
  | { readonly kind: 'missing-body'; readonly type: number; readonly detail: string }
  | { readonly kind: 'missing-field'; readonly type: number; readonly detail: string };

export function isCommandProblem(x: BaseCommand | CommandProblem): x is CommandProblem {
  return 'kind' in x;
}

/** Decode and validate a serialized BaseCommand. */
export function decodeCommand(bytes: Uint8Array): BaseCommand | CommandProblem {
  let cmd: BaseCommand;
  try {
    cmd = fromBinary(BaseCommandSchema, bytes);
  } catch (err) {
    return { kind: 'undecodable', detail: (err as Error).message };
  }
  // An unknown value of the closed `type` enum is kept as an unknown field: `type` is then unset.
  if (!isFieldSet(cmd, BaseCommandSchema.field.type)) {
    return { kind: 'unknown-type', detail: 'command type missing or not known to this protocol version' };
  }
  const field = BODY_FIELD.get(cmd.type);
  const body = field ? (cmd as unknown as Record<string, unknown>)[field.localName] : undefined;
  if (!field || body === undefined) {
    return { kind: 'missing-body', type: cmd.type, detail: `${commandName(cmd.type)} without its body` };
  }
  const required = REQUIRED[cmd.type];
  if (required && field.fieldKind === 'message') {
    const missing = missingFields(field.message, body as never, required);
    if (missing) {
      return {
        kind: 'missing-field',
        type: cmd.type,
        detail: `${commandName(cmd.type)} lacks required field ${missing}`,
      };
    }
  }
  return cmd;
}

/** Field descriptors by local name, per message type (looked up once). */
const FIELDS = new Map<DescMessage, Map<string, DescField>>();

function missingFields(desc: DescMessage, body: never, names: readonly string[]): string | undefined {
  let byName = FIELDS.get(desc);
  if (!byName) {
    byName = new Map(desc.fields.map((f) => [f.localName, f]));
    FIELDS.set(desc, byName);
  }
  for (const name of names) {
    const f = byName.get(name);
    if (f && !isFieldSet(body, f)) return name;
  }
  return undefined;
}

/** Serialize a command, checking that the body for its type is present. */
export function serializeCommand(init: CommandInit): Uint8Array {
  const type = init.type;
  const name = type === undefined ? undefined : bodyFieldName(type);
  if (name === undefined || (init as Record<string, unknown>)[name] === undefined) {
    throw new Error(`command ${commandName(type ?? -1)} built without its body`);
  }
  return toBinary(BaseCommandSchema, create(BaseCommandSchema, init));
}

/** A whole simple frame for a command. */
export function encodeCommand(init: CommandInit): Buffer {
  return encodeSimpleFrame(serializeCommand(init));
}

/**
 * A payload frame as two buffers (head, payload section) so a stored entry is written without
 * copying. `payloadSection` is sent as is (it must start with the checksum magic).
 */
export function encodePayloadCommand(init: CommandInit, payloadSection: Buffer): [Buffer, Buffer] {
  return [encodePayloadFrameHead(serializeCommand(init), payloadSection.byteLength), payloadSection];
}
