/**
 * Batch payloads (pulsar-protocol.md §1.5): N × [size:u32 BE | SingleMessageMetadata | bytes],
 * where SingleMessageMetadata.payload_size gives the byte count. Compression applies to the
 * concatenation as a whole (see compression.ts); these functions work on the uncompressed form.
 */
import { create, fromBinary, isFieldSet, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import { type SingleMessageMetadata, SingleMessageMetadataSchema } from '../gen/pulsar/PulsarApi_pb.ts';

export type SingleMetadataInit = Omit<MessageInitShape<typeof SingleMessageMetadataSchema>, 'payloadSize'>;

export interface BatchMessage {
  readonly metadata: SingleMessageMetadata;
  readonly payload: Buffer;
}

export type BatchProblem = { readonly kind: 'bad-batch'; readonly detail: string };

export function encodeBatch(
  messages: readonly { metadata?: SingleMetadataInit; payload: Uint8Array }[],
): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    const meta = toBinary(
      SingleMessageMetadataSchema,
      Object.assign(create(SingleMessageMetadataSchema, m.metadata as never), {
        payloadSize: m.payload.byteLength,
      }),
    );
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(meta.byteLength, 0);
    parts.push(head, Buffer.from(meta.buffer, meta.byteOffset, meta.byteLength));
    parts.push(Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength));
  }
  return Buffer.concat(parts);
}

/** Split an uncompressed batch payload into its `count` messages. */
export function decodeBatch(data: Buffer, count: number): BatchMessage[] | BatchProblem {
  const out: BatchMessage[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (data.byteLength < offset + 4) return { kind: 'bad-batch', detail: `message ${i}: truncated size` };
    const size = data.readUInt32BE(offset);
    offset += 4;
    if (data.byteLength < offset + size)
      return { kind: 'bad-batch', detail: `message ${i}: truncated metadata` };
    let metadata: SingleMessageMetadata;
    try {
      metadata = fromBinary(SingleMessageMetadataSchema, data.subarray(offset, offset + size));
    } catch (err) {
      return { kind: 'bad-batch', detail: `message ${i}: ${(err as Error).message}` };
    }
    offset += size;
    if (!isFieldSet(metadata, SingleMessageMetadataSchema.field.payloadSize) || metadata.payloadSize < 0) {
      return { kind: 'bad-batch', detail: `message ${i}: no payload_size` };
    }
    if (data.byteLength < offset + metadata.payloadSize) {
      return { kind: 'bad-batch', detail: `message ${i}: truncated payload` };
    }
    out.push({ metadata, payload: data.subarray(offset, offset + metadata.payloadSize) });
    offset += metadata.payloadSize;
  }
  return out;
}

export function isBatchProblem(x: BatchMessage[] | BatchProblem): x is BatchProblem {
  return !Array.isArray(x);
}
