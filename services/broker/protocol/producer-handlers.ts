/**
 * PRODUCER, SEND and CLOSE_PRODUCER (pulsar-protocol.md §2.7, §3.2-3.3).
 */
import {
  BaseCommand_Type,
  type CommandCloseProducer,
  type CommandProducer,
  type CommandSend,
  CommandSendSchema,
} from '../../../lib/gen/pulsar/PulsarApi_pb.ts';
import { isFieldSet } from '@bufbuild/protobuf';
import { decodeMetadata, entryFacts, isMetadataProblem } from '../../../lib/wire/metadata.ts';
import { isPayloadProblem, parsePayloadSection } from '../../../lib/wire/payload.ts';
import { isTopicNameProblem, parseTopicName } from '../../../lib/wire/topic-name.ts';
import { u64ToNumber } from '../../../lib/wire/message-id.ts';
import { brokerErrors, toServerError } from '../errors.ts';
import type { ConnectionHandle } from './context.ts';
import { accessModeOf, ProducerSession } from './producer-session.ts';

export async function handleProducer(conn: ConnectionHandle, cmd: CommandProducer): Promise<void> {
  const { producerId, requestId } = cmd;
  const existing = conn.producers.get(producerId);
  if (existing) {
    // A retried PRODUCER for a live producer is answered again; one still being created is not.
    if (existing.state === 'ready') return sendProducerSuccess(conn, requestId, existing.session, -1, true);
    return conn.sendError(
      requestId,
      brokerErrors.make('DUPLICATE_ID_PENDING', { kind: 'producer', id: String(producerId) }),
    );
  }
  if (conn.producers.size >= conn.ctx.config.maxProducersPerConnection) {
    return conn.sendError(
      requestId,
      brokerErrors.make('TOO_MANY_REQUESTS', {
        what: 'producers per connection',
        max: conn.ctx.config.maxProducersPerConnection,
      }),
    );
  }
  const name = parseTopicName(cmd.topic);
  if (isTopicNameProblem(name))
    return conn.sendError(requestId, brokerErrors.make('INVALID_TOPIC_NAME', { detail: name.detail }));
  const accessMode = accessModeOf(cmd.producerAccessMode);
  if (!accessMode) {
    return conn.sendError(
      requestId,
      brokerErrors.make('MALFORMED_COMMAND', {
        detail: `unknown producer access mode ${cmd.producerAccessMode}`,
      }),
    );
  }
  conn.producers.set(producerId, { state: 'creating', requestId });
  let session: ProducerSession | undefined;
  try {
    await conn.authorize(name, 'produce');
    const topic = await conn.ctx.topics.getTopic(name, { create: true });
    const userName = cmd.producerName !== '' ? cmd.producerName : undefined;
    session = new ProducerSession(conn, {
      producerId,
      name: userName ?? conn.ctx.generateProducerName(),
      generatedName: userName === undefined,
      accessMode,
      metadata: Object.fromEntries(cmd.metadata.map((kv) => [kv.key, kv.value])),
      topic,
    });
    const added = await topic.addProducer(session);
    conn.ctx.metrics.producers.inc();
    if (conn.producers.get(producerId)?.state !== 'creating' || !conn.client.alive) {
      // The client closed it (or the connection) while we were creating it.
      session.detach();
      return;
    }
    conn.producers.set(producerId, { state: 'ready', session });
    if (!added.ready) return sendProducerSuccess(conn, requestId, session, added.lastSequenceId, true);
    session.ready = false;
    sendProducerSuccess(conn, requestId, session, added.lastSequenceId, false);
    const s = session;
    await added.ready;
    if (s.closed) return;
    s.ready = true;
    sendProducerSuccess(conn, requestId, s, added.lastSequenceId, true);
  } catch (err) {
    if (conn.producers.get(producerId)?.state === 'creating') conn.producers.delete(producerId);
    session?.detach();
    conn.sendError(requestId, err);
  }
}

function sendProducerSuccess(
  conn: ConnectionHandle,
  requestId: bigint,
  session: ProducerSession,
  lastSequenceId: number,
  ready: boolean,
): void {
  conn.send({
    type: BaseCommand_Type.PRODUCER_SUCCESS,
    producerSuccess: {
      requestId,
      producerName: session.name,
      lastSequenceId: BigInt(lastSequenceId),
      producerReady: ready,
      // Schemas are accepted but not stored: every producer gets version 0.
      schemaVersion: new Uint8Array(8),
    },
  });
}

export function handleSend(conn: ConnectionHandle, cmd: CommandSend, payload: Buffer | undefined) {
  const slot = conn.producers.get(cmd.producerId);
  const sendError = (err: unknown) => {
    const { code, message } = toServerError(err);
    conn.ctx.metrics.sendErrors.inc({ error: String(code) });
    conn.send({
      type: BaseCommand_Type.SEND_ERROR,
      sendError: { producerId: cmd.producerId, sequenceId: cmd.sequenceId, error: code, message },
    });
  };
  if (slot?.state !== 'ready') {
    return sendError(brokerErrors.make('PRODUCER_NOT_FOUND', { producerId: String(cmd.producerId) }));
  }
  const session = slot.session;
  if (!session.ready) {
    // Reference broker behaviour: SEND before exclusive access was granted breaks the protocol.
    return conn.close('SEND on a producer still waiting for exclusive access');
  }
  const refuse = (err: unknown) => session.refuse(cmd.sequenceId, err);
  if (!payload) return refuse(brokerErrors.make('MALFORMED_PAYLOAD', { detail: 'SEND without a payload' }));
  const max = conn.ctx.config.maxMessageSizeBytes;
  if (payload.byteLength > max + 6) {
    return refuse(brokerErrors.make('MESSAGE_TOO_LARGE', { size: payload.byteLength, max }));
  }
  const section = parsePayloadSection(payload, conn.ctx.config.verifyChecksums);
  if (isPayloadProblem(section)) {
    conn.ctx.metrics.protocolErrors.inc({ kind: section.kind });
    if (section.kind === 'checksum-mismatch') {
      return refuse(
        brokerErrors.make('CHECKSUM_MISMATCH', { expected: section.expected, actual: section.actual }),
      );
    }
    return refuse(brokerErrors.make('MALFORMED_PAYLOAD', { detail: section.detail }));
  }
  const md = decodeMetadata(section.metadata);
  if (isMetadataProblem(md)) return refuse(brokerErrors.make('MALFORMED_PAYLOAD', { detail: md.detail }));
  const facts = entryFacts(md);
  if (facts.isMarker)
    return refuse(
      brokerErrors.make('MALFORMED_PAYLOAD', { detail: 'clients may not publish marker messages' }),
    );
  const numMessages = Math.max(1, cmd.numMessages);
  const highest =
    isFieldSet(cmd, CommandSendSchema.field.highestSequenceId) && cmd.highestSequenceId > cmd.sequenceId
      ? cmd.highestSequenceId
      : cmd.sequenceId;
  session.publish(cmd.sequenceId, highest, {
    entry: owned(section.entry),
    facts,
    sequenceId: u64ToNumber(cmd.sequenceId),
    highestSequenceId: u64ToNumber(highest),
    numMessages,
  });
}

export async function handleCloseProducer(conn: ConnectionHandle, cmd: CommandCloseProducer): Promise<void> {
  const slot = conn.producers.get(cmd.producerId);
  conn.producers.delete(cmd.producerId);
  if (slot?.state === 'ready') {
    await slot.session.whenDrained();
    slot.session.detach();
  }
  // Unknown ids are answered with SUCCESS too (the reference broker does).
  conn.send({ type: BaseCommand_Type.SUCCESS, success: { requestId: cmd.requestId } });
}

/**
 * The entry outlives the frame: keep it as is when it is (most of) its own allocation (large
 * frames are reassembled into a fresh buffer), copy it when it is a small view into a big socket
 * chunk, so the chunk is not retained.
 */
function owned(entry: Buffer): Buffer {
  return entry.buffer.byteLength > 2 * entry.byteLength ? Buffer.from(entry) : entry;
}
