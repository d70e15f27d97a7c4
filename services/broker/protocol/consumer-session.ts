/**
 * The client-facing end of one consumer on one connection (ConsumerChannel): builds MESSAGE,
 * ACTIVE_CONSUMER_CHANGE, REACHED_END_OF_TOPIC and CLOSE_CONSUMER frames, gated by the client's
 * protocol version (pulsar-protocol.md §4).
 */
import { BaseCommand_Type } from '../../../lib/gen/pulsar/PulsarApi_pb.ts';
import { encodePayloadFrameHead } from '../../../lib/wire/frame.ts';
import { encodeMessageCommand } from '../../../lib/wire/fast-encode.ts';
import { numberToU64 } from '../../../lib/wire/message-id.ts';
import { stripChecksum } from '../../../lib/wire/payload.ts';
import { ProtocolFeature } from '../../../lib/wire/protocol.ts';
import type { ConsumerChannel } from '../topics/topic.ts';
import type { ConnectionHandle } from './context.ts';

export class ConsumerSession implements ConsumerChannel {
  readonly consumerId: bigint;
  private readonly conn: ConnectionHandle;
  closed = false;

  constructor(conn: ConnectionHandle, consumerId: bigint) {
    this.conn = conn;
    this.consumerId = consumerId;
  }

  get client() {
    return this.conn.client;
  }

  get writable(): boolean {
    return this.conn.writable;
  }

  onWritabilityChange(listener: (writable: boolean) => void): () => void {
    return this.conn.onWritabilityChange(listener);
  }

  sendMessage(
    id: { ledgerId: number; entryId: number; partition: number },
    entry: Buffer,
    redeliveryCount: number,
    ackSet?: readonly bigint[],
  ): void {
    if (this.closed) return;
    const body =
      this.conn.client.protocolVersion < ProtocolFeature.checksumInMessage ? stripChecksum(entry) : entry;
    const command = encodeMessageCommand(this.consumerId, id, redeliveryCount, ackSet);
    this.conn.writeRaw(encodePayloadFrameHead(command, body.byteLength), body);
    const m = this.conn.ctx.metrics;
    m.bytesOut.inc(body.byteLength);
  }

  sendActiveConsumerChange(isActive: boolean): void {
    if (this.closed || this.conn.client.protocolVersion < ProtocolFeature.activeConsumerChange) return;
    this.conn.send({
      type: BaseCommand_Type.ACTIVE_CONSUMER_CHANGE,
      activeConsumerChange: { consumerId: this.consumerId, isActive },
    });
  }

  sendReachedEndOfTopic(): void {
    if (this.closed || this.conn.client.protocolVersion < ProtocolFeature.reachedEndOfTopic) return;
    this.conn.send({
      type: BaseCommand_Type.REACHED_END_OF_TOPIC,
      reachedEndOfTopic: { consumerId: this.consumerId },
    });
  }

  /** This consumer is over (client close, unsubscribe, connection drop): stop sending. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.ctx.metrics.consumers.dec();
  }

  closeByBroker(): void {
    if (this.closed) return;
    this.end();
    const slot = this.conn.consumers.get(this.consumerId);
    if (slot?.state === 'ready' && slot.session === this) this.conn.consumers.delete(this.consumerId);
    if (this.conn.client.protocolVersion < ProtocolFeature.brokerInitiatedClose) {
      this.conn.close('consumer closed by broker (client older than protocol v5)');
      return;
    }
    this.conn.send({
      type: BaseCommand_Type.CLOSE_CONSUMER,
      closeConsumer: { consumerId: this.consumerId, requestId: numberToU64(-1) },
    });
  }
}
