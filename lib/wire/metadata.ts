/**
 * MessageMetadata helpers (pulsar-protocol.md §2.4): decode with problems as data, encode, and
 * the few facts a broker needs to route an entry without unpacking it.
 */
import { create, fromBinary, isFieldSet, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import { type MessageMetadata, MessageMetadataSchema } from '../gen/pulsar/PulsarApi_pb.ts';
import { u64ToNumber } from './message-id.ts';

export type MetadataInit = MessageInitShape<typeof MessageMetadataSchema>;
export type MetadataProblem = { readonly kind: 'bad-metadata'; readonly detail: string };

export function decodeMetadata(bytes: Uint8Array): MessageMetadata | MetadataProblem {
  try {
    const md = fromBinary(MessageMetadataSchema, bytes);
    for (const f of ['producerName', 'sequenceId', 'publishTime'] as const) {
      if (!isFieldSet(md, MessageMetadataSchema.field[f])) {
        return { kind: 'bad-metadata', detail: `MessageMetadata lacks required field ${f}` };
      }
    }
    return md;
  } catch (err) {
    return { kind: 'bad-metadata', detail: (err as Error).message };
  }
}

export function isMetadataProblem(x: unknown): x is MetadataProblem {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'bad-metadata';
}

export function encodeMetadata(init: MetadataInit): Uint8Array {
  return toBinary(MessageMetadataSchema, create(MessageMetadataSchema, init));
}

/** True when the payload is a batch (presence of num_messages_in_batch, even when it is 1). */
export function isBatch(md: MessageMetadata): boolean {
  return isFieldSet(md, MessageMetadataSchema.field.numMessagesInBatch);
}

/** What a broker looks at to route and account for one stored entry. */
export interface EntryFacts {
  /** Messages in the entry (1 unless batched). */
  readonly numMessages: number;
  readonly batched: boolean;
  /** Key for Key_Shared routing: ordering_key if set, else partition_key, else undefined. */
  readonly stickyKey: Uint8Array | undefined;
  /** deliver_at_time in ms since epoch, or undefined. */
  readonly deliverAtMs: number | undefined;
  readonly publishTimeMs: number;
  readonly producerName: string;
  readonly sequenceId: number;
  readonly highestSequenceId: number;
  /** Internal marker entries are never delivered to clients. */
  readonly isMarker: boolean;
  readonly compression: number;
  readonly uncompressedSize: number;
}

const encoder = new TextEncoder();

export function entryFacts(md: MessageMetadata): EntryFacts {
  const batched = isBatch(md);
  let stickyKey: Uint8Array | undefined;
  if (md.orderingKey.byteLength > 0) stickyKey = md.orderingKey;
  else if (isFieldSet(md, MessageMetadataSchema.field.partitionKey))
    stickyKey = encoder.encode(md.partitionKey);
  const deliverAt = isFieldSet(md, MessageMetadataSchema.field.deliverAtTime)
    ? u64ToNumber(md.deliverAtTime)
    : undefined;
  return {
    numMessages: batched ? Math.max(0, md.numMessagesInBatch) : 1,
    batched,
    stickyKey,
    deliverAtMs: deliverAt,
    publishTimeMs: u64ToNumber(md.publishTime),
    producerName: md.producerName,
    sequenceId: u64ToNumber(md.sequenceId),
    highestSequenceId: u64ToNumber(md.highestSequenceId),
    isMarker: isFieldSet(md, MessageMetadataSchema.field.markerType),
    compression: md.compression,
    uncompressedSize: md.uncompressedSize,
  };
}
