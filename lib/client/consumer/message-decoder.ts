/**
 * Turning a MESSAGE frame's payload section into application messages (pure): verify the
 * producer's CRC32C, decode the metadata, decompress (bounded), split batches, and skip batch
 * indexes the broker marks as already acknowledged (`ack_set`, a set bit = still unacked).
 * Problems are returned as data with the validation error to report in the discarding ACK.
 */
import { isFieldSet } from '@bufbuild/protobuf';
import {
  type CommandMessage,
  CommandMessageSchema,
  type KeyValue,
  type MessageMetadata,
  MessageMetadataSchema,
  SingleMessageMetadataSchema,
  CommandAck_ValidationError as ValidationError,
} from '../../gen/pulsar/PulsarApi_pb.ts';
import { decodeBatch, isBatchProblem } from '../../wire/batch.ts';
import { decompress, isCompressionProblem } from '../../wire/compression.ts';
import { ackSetToUnacked, u64ToNumber } from '../../wire/message-id.ts';
import { decodeMetadata, isBatch, isMetadataProblem } from '../../wire/metadata.ts';
import { isPayloadProblem, parsePayloadSection } from '../../wire/payload.ts';
import { Message, type MessageOrigin } from '../message.ts';
import { MessageId } from '../message-id.ts';

/** Uncompressed payloads larger than this are refused (decompression-bomb bound). */
export const MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024;

export interface DecodedEntry {
  readonly ledgerId: number;
  readonly entryId: number;
  /** Messages to hand to the application, in order. */
  readonly messages: Message[];
  /** Messages in the entry (batch size, or 1). */
  readonly total: number;
  readonly batched: boolean;
  /** For batches: indexes the broker reported as already acknowledged. */
  readonly alreadyAcked: boolean[];
}

export interface DecodeProblem {
  readonly kind: 'corrupt';
  readonly ledgerId: number;
  readonly entryId: number;
  readonly validationError: ValidationError;
  readonly reason: string;
  /** Permits the entry used (its batch size when known). */
  readonly total: number;
}

export function isDecodeProblem(x: DecodedEntry | DecodeProblem): x is DecodeProblem {
  return (x as DecodeProblem).kind === 'corrupt';
}

export function decodeMessageFrame(
  cmd: CommandMessage,
  section: Buffer,
  topic: string,
  partition: number,
  origin: MessageOrigin,
): DecodedEntry | DecodeProblem {
  const ledgerId = u64ToNumber(cmd.messageId!.ledgerId);
  const entryId = u64ToNumber(cmd.messageId!.entryId);
  const bad = (validationError: ValidationError, reason: string, total = 1): DecodeProblem => ({
    kind: 'corrupt',
    ledgerId,
    entryId,
    validationError,
    reason,
    total,
  });
  const parsed = parsePayloadSection(section, true);
  if (isPayloadProblem(parsed)) {
    return parsed.kind === 'checksum-mismatch'
      ? bad(ValidationError.ChecksumMismatch, 'checksum mismatch')
      : bad(ValidationError.BatchDeSerializeError, `truncated ${parsed.detail}`);
  }
  const md = decodeMetadata(parsed.metadata);
  if (isMetadataProblem(md)) return bad(ValidationError.BatchDeSerializeError, md.detail);
  const batched = isBatch(md);
  const total = batched ? Math.max(0, md.numMessagesInBatch) : 1;
  let data = parsed.data;
  if (md.compression !== 0) {
    const out = decompress(md.compression, data, md.uncompressedSize, MAX_UNCOMPRESSED_BYTES);
    if (isCompressionProblem(out)) return bad(ValidationError.DecompressionError, out.detail, total);
    data = out;
  } else if (data.buffer.byteLength > 4 * data.byteLength + 4096) {
    // Do not pin a large socket chunk for a small message.
    data = Buffer.from(data);
  }
  const redeliveryCount = cmd.redeliveryCount;
  const publishTime = u64ToNumber(md.publishTime);
  const common = { topic, publishTime, redeliveryCount, producerName: md.producerName, origin };
  if (!batched) {
    const messageId = new MessageId(ledgerId, entryId, partition, -1, 0, topic);
    const message = new Message({
      ...common,
      messageId,
      payload: data,
      key: isFieldSet(md, MESSAGE_METADATA_KEY) ? md.partitionKey : undefined,
      orderingKey: md.orderingKey.byteLength > 0 ? Buffer.from(md.orderingKey) : undefined,
      properties: propertiesOf(md.properties),
      eventTime: u64ToNumber(md.eventTime),
      sequenceId: u64ToNumber(md.sequenceId),
    });
    return { ledgerId, entryId, messages: [message], total: 1, batched: false, alreadyAcked: [] };
  }
  const items = decodeBatch(data, total);
  if (isBatchProblem(items)) return bad(ValidationError.BatchDeSerializeError, items.detail, total);
  const unacked =
    isFieldSet(cmd, CommandMessageSchema.field.ackSet) && cmd.ackSet.length > 0
      ? ackSetToUnacked(cmd.ackSet, total)
      : undefined;
  const alreadyAcked = unacked ? unacked.map((u) => !u) : [];
  const messages: Message[] = [];
  const baseSequence = u64ToNumber(md.sequenceId);
  for (let i = 0; i < items.length; i++) {
    if (alreadyAcked[i]) continue;
    const single = items[i].metadata;
    messages.push(
      new Message({
        ...common,
        messageId: new MessageId(ledgerId, entryId, partition, i, total, topic),
        payload: items[i].payload,
        key: isFieldSet(single, SINGLE_METADATA_KEY) ? single.partitionKey : undefined,
        orderingKey: single.orderingKey.byteLength > 0 ? Buffer.from(single.orderingKey) : undefined,
        properties: propertiesOf(single.properties),
        eventTime: u64ToNumber(single.eventTime),
        sequenceId: single.sequenceId > 0n ? u64ToNumber(single.sequenceId) : baseSequence + i,
      }),
    );
  }
  return { ledgerId, entryId, messages, total, batched: true, alreadyAcked };
}

const MESSAGE_METADATA_KEY = MessageMetadataSchema.field.partitionKey;
const SINGLE_METADATA_KEY = SingleMessageMetadataSchema.field.partitionKey;

function propertiesOf(kvs: readonly KeyValue[]): Record<string, string> {
  if (kvs.length === 0) return EMPTY;
  const out: Record<string, string> = {};
  for (const kv of kvs) out[kv.key] = kv.value;
  return out;
}

const EMPTY: Record<string, string> = Object.freeze({}) as Record<string, string>;

export type { MessageMetadata };
