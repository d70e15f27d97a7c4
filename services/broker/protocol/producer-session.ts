/**
 * One producer on one connection. Answers (SEND_RECEIPT / SEND_ERROR) go out strictly in the order
 * the SENDs arrived, whatever order their writes complete in (official clients require it): each
 * SEND takes a place in a FIFO and the head is answered once it is settled.
 */
import { BaseCommand_Type } from '../../../lib/gen/pulsar/PulsarApi_pb.ts';
import { encodeSendReceiptCommand } from '../../../lib/wire/fast-encode.ts';
import { encodeSimpleFrame } from '../../../lib/wire/frame.ts';
import { numberToU64 } from '../../../lib/wire/message-id.ts';
import { ProtocolFeature, ProducerAccessMode } from '../../../lib/wire/protocol.ts';
import { toServerError } from '../errors.ts';
import type { PublisherStats } from '../service.ts';
import type { AccessMode, ProducerEndpoint, PublishOutcome, PublishRequest, Topic } from '../topics/topic.ts';
import type { ConnectionHandle } from './context.ts';

let nextProducerId = 1;

interface PendingSend {
  readonly sequenceId: bigint;
  readonly highestSequenceId: bigint;
  readonly bytes: number;
  readonly numMessages: number;
  readonly startedAt: number;
  done: boolean;
  outcome?: PublishOutcome;
  error?: unknown;
}

export interface ProducerSessionInit {
  readonly producerId: bigint;
  readonly name: string;
  readonly generatedName: boolean;
  readonly accessMode: AccessMode;
  readonly metadata: Readonly<Record<string, string>>;
  readonly topic: Topic;
}

export class ProducerSession implements ProducerEndpoint {
  readonly id = nextProducerId++;
  readonly producerId: bigint;
  readonly name: string;
  readonly generatedName: boolean;
  readonly accessMode: AccessMode;
  readonly metadata: Readonly<Record<string, string>>;
  readonly topic: Topic;
  private readonly conn: ConnectionHandle;
  private readonly queue: PendingSend[] = [];
  private drained: (() => void)[] = [];
  /** False until a WaitForExclusive producer is promoted. */
  ready = true;
  closed = false;

  constructor(conn: ConnectionHandle, init: ProducerSessionInit) {
    this.conn = conn;
    this.producerId = init.producerId;
    this.name = init.name;
    this.generatedName = init.generatedName;
    this.accessMode = init.accessMode;
    this.metadata = init.metadata;
    this.topic = init.topic;
  }

  get client() {
    return this.conn.client;
  }

  get pendingCount(): number {
    return this.queue.length;
  }

  /** Publish and answer in order. */
  publish(sequenceId: bigint, highestSequenceId: bigint, req: PublishRequest): void {
    const item = this.enqueue(sequenceId, highestSequenceId, req.entry.byteLength, req.numMessages);
    this.topic.publish(this, req).then(
      (outcome) => this.settle(item, outcome, undefined),
      (err: unknown) => this.settle(item, undefined, err),
    );
  }

  /** Answer a SEND that was refused before reaching the topic, keeping the order. */
  refuse(sequenceId: bigint, err: unknown): void {
    const item = this.enqueue(sequenceId, sequenceId, 0, 0);
    this.settle(item, undefined, err);
  }

  /** Resolves once every SEND so far is answered. */
  whenDrained(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /** Publish rate: pause (or resume) reading this producer's connection. */
  throttle(paused: boolean): void {
    if (paused && !this.closed) this.conn.pauseInput(this);
    else this.conn.resumeInput(this);
  }

  /** The client's or the connection's end of this producer. */
  detach(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.resumeInput(this);
    this.topic.removeProducer(this);
    this.conn.ctx.metrics.producers.dec();
  }

  closeByBroker(): void {
    if (this.closed) return;
    this.detach();
    const slot = this.conn.producers.get(this.producerId);
    if (slot?.state === 'ready' && slot.session === this) this.conn.producers.delete(this.producerId);
    if (this.conn.client.protocolVersion < ProtocolFeature.brokerInitiatedClose) {
      this.conn.close('producer closed by broker (client older than protocol v5)');
      return;
    }
    this.conn.send({
      type: BaseCommand_Type.CLOSE_PRODUCER,
      closeProducer: { producerId: this.producerId, requestId: numberToU64(-1) },
    });
  }

  stats(): PublisherStats {
    const c = this.conn.client;
    return {
      msgRateIn: 0,
      msgThroughputIn: 0,
      averageMsgSize: 0,
      producerId: Number(this.producerId),
      producerName: this.name,
      accessMode: this.accessMode,
      address: c.address,
      connectedSince: c.connectedSince,
      clientVersion: c.clientVersion,
      metadata: { ...this.metadata },
    };
  }

  private enqueue(
    sequenceId: bigint,
    highestSequenceId: bigint,
    bytes: number,
    numMessages: number,
  ): PendingSend {
    const item: PendingSend = {
      sequenceId,
      highestSequenceId,
      bytes,
      numMessages,
      startedAt: performance.now(),
      done: false,
    };
    this.queue.push(item);
    this.conn.sendStarted(bytes);
    return item;
  }

  private settle(item: PendingSend, outcome: PublishOutcome | undefined, error: unknown): void {
    item.done = true;
    item.outcome = outcome;
    item.error = error;
    while (this.queue.length > 0 && this.queue[0].done) this.answer(this.queue.shift()!);
    if (this.queue.length === 0 && this.drained.length > 0) {
      const waiters = this.drained;
      this.drained = [];
      for (const w of waiters) w();
    }
  }

  private answer(item: PendingSend): void {
    this.conn.sendFinished(item.bytes);
    const m = this.conn.ctx.metrics;
    if (item.outcome) {
      const stored = item.outcome.kind === 'stored';
      const o = item.outcome;
      const id =
        o.kind === 'stored' ? { ledgerId: o.ledgerId, entryId: o.entryId } : { ledgerId: -1, entryId: -1 };
      const cmd = encodeSendReceiptCommand(this.producerId, item.sequenceId, item.highestSequenceId, {
        ...id,
        partition: this.topic.name.partitionIndex,
      });
      this.conn.writeRaw(encodeSimpleFrame(cmd));
      if (stored) {
        m.msgsIn.inc(item.numMessages);
        m.bytesIn.inc(item.bytes);
      }
      m.publishLatency.observe((performance.now() - item.startedAt) / 1000);
      return;
    }
    const { code, message } = toServerError(item.error);
    m.sendErrors.inc({ error: String(code) });
    this.conn.send({
      type: BaseCommand_Type.SEND_ERROR,
      sendError: { producerId: this.producerId, sequenceId: item.sequenceId, error: code, message },
    });
  }
}

/** Wire access mode → name (unknown values are refused by the handler). */
export function accessModeOf(wire: number): AccessMode | undefined {
  switch (wire) {
    case ProducerAccessMode.Shared:
      return 'Shared';
    case ProducerAccessMode.Exclusive:
      return 'Exclusive';
    case ProducerAccessMode.WaitForExclusive:
      return 'WaitForExclusive';
    case ProducerAccessMode.ExclusiveWithFencing:
      return 'ExclusiveWithFencing';
    default:
      return undefined;
  }
}
