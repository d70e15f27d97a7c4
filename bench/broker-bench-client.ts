/**
 * A lean Pulsar client for the broker benchmark (lib/wire only): one connection, pipelined
 * batched SENDs with receipts matched in order, and a consumer that grants permits in bulk, acks
 * cumulatively a few times per second and reports (messages, send time) per received batch. The
 * first 8 bytes of each batch's first message carry the send time (epoch ms, float64) for
 * end-to-end latency.
 */
import { connect, type Socket } from 'node:net';
import { BaseCommand_Type, type CommandSubscribe_SubType } from '../lib/gen/pulsar/PulsarApi_pb.ts';
import { encodeBatch } from '../lib/wire/batch.ts';
import {
  type CommandInit,
  decodeCommand,
  encodeCommand,
  encodePayloadCommand,
  isCommandProblem,
} from '../lib/wire/commands.ts';
import { FrameDecoder } from '../lib/wire/frame.ts';
import { decodeMetadata, encodeMetadata } from '../lib/wire/metadata.ts';
import { encodePayloadSection, isPayloadProblem, parsePayloadSection } from '../lib/wire/payload.ts';

const T = BaseCommand_Type;
const PERMITS = 20_000;

export class BenchClient {
  private readonly socket: Socket;
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private nextId = 1n;
  private readonly pending = new Map<bigint, (ok: boolean) => void>();
  private readonly receipts = new Map<bigint, (() => void)[]>();
  private readonly batchListeners = new Map<
    bigint,
    (count: number, sentAtMs: number, id: { l: bigint; e: bigint }) => void
  >();
  private connected: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<BenchClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new BenchClient(socket);
    await new Promise<void>((resolve) => {
      c.connected = resolve;
      c.send({ type: T.CONNECT, connect: { clientVersion: 'bench', protocolVersion: 19 } });
    });
    return c;
  }

  send(init: CommandInit): void {
    this.socket.write(encodeCommand(init));
  }

  private request(build: (requestId: bigint) => CommandInit): Promise<boolean> {
    const requestId = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(requestId, resolve);
      this.send(build(requestId));
    });
  }

  /** LOOKUP first, as real clients do (a broker with cluster ownership claims the bundle then). */
  private async lookup(topic: string): Promise<void> {
    const ok = await this.request((requestId) => ({ type: T.LOOKUP, lookupTopic: { topic, requestId } }));
    if (!ok) throw new Error(`lookup of ${topic} failed`);
  }

  async producer(topic: string): Promise<BenchProducer> {
    await this.lookup(topic);
    const producerId = this.nextId++;
    const ok = await this.request((requestId) => ({
      type: T.PRODUCER,
      producer: { topic, producerId, requestId },
    }));
    if (!ok) throw new Error(`producer on ${topic} refused`);
    this.receipts.set(producerId, []);
    return new BenchProducer(this, producerId);
  }

  async consumer(topic: string, subscription: string): Promise<BenchConsumer> {
    await this.lookup(topic);
    const consumerId = this.nextId++;
    const ok = await this.request((requestId) => ({
      type: T.SUBSCRIBE,
      subscribe: { topic, subscription, subType: 0 as CommandSubscribe_SubType, consumerId, requestId },
    }));
    if (!ok) throw new Error(`subscription on ${topic} refused`);
    return new BenchConsumer(this, consumerId);
  }

  /** @internal */
  expectReceipt(producerId: bigint, done: () => void): void {
    this.receipts.get(producerId)!.push(done);
  }

  /** @internal */
  onBatches(
    consumerId: bigint,
    cb: (count: number, sentAtMs: number, id: { l: bigint; e: bigint }) => void,
  ): void {
    this.batchListeners.set(consumerId, cb);
  }

  /** @internal */
  closeRequest(build: (requestId: bigint) => CommandInit): Promise<boolean> {
    return this.request(build);
  }

  write(buf: Buffer): void {
    this.socket.write(buf);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    for (let f = this.decoder.next(); f !== undefined; f = this.decoder.next()) {
      if ('kind' in f) throw new Error(`bad frame from broker: ${f.kind}`);
      const cmd = decodeCommand(f.command);
      if (isCommandProblem(cmd)) throw new Error(cmd.detail);
      switch (cmd.type) {
        case T.CONNECTED:
          this.connected?.();
          break;
        case T.PING:
          this.send({ type: T.PONG, pong: {} });
          break;
        case T.SEND_RECEIPT:
          this.receipts.get(cmd.sendReceipt!.producerId)?.shift()?.();
          break;
        case T.SEND_ERROR:
          throw new Error(`SEND_ERROR ${cmd.sendError?.message}`);
        case T.MESSAGE: {
          const section = parsePayloadSection(f.payload!, false);
          if (isPayloadProblem(section)) throw new Error(section.kind);
          const md = decodeMetadata(section.metadata);
          if ('kind' in md) throw new Error(md.detail);
          const smdSize = section.data.readUInt32BE(0);
          const sentAt = section.data.readDoubleBE(4 + smdSize);
          const id = cmd.message!.messageId!;
          this.batchListeners.get(cmd.message!.consumerId)?.(md.numMessagesInBatch, sentAt, {
            l: id.ledgerId,
            e: id.entryId,
          });
          break;
        }
        case T.SUCCESS:
        case T.PRODUCER_SUCCESS:
        case T.LOOKUP_RESPONSE:
        case T.ERROR: {
          const rid =
            cmd.success?.requestId ??
            cmd.producerSuccess?.requestId ??
            cmd.lookupTopicResponse?.requestId ??
            cmd.error?.requestId;
          if (rid !== undefined) {
            const failed =
              cmd.type === T.ERROR ||
              (cmd.type === T.LOOKUP_RESPONSE && cmd.lookupTopicResponse?.response !== 1);
            this.pending.get(rid)?.(!failed);
            this.pending.delete(rid);
          }
          break;
        }
      }
    }
  }
}

export class BenchProducer {
  private readonly client: BenchClient;
  private readonly producerId: bigint;
  private seq = 0n;
  private template: { count: number; bytes: number; data: Buffer; firstPayloadOffset: number } | undefined;

  constructor(client: BenchClient, producerId: bigint) {
    this.client = client;
    this.producerId = producerId;
  }

  /** Send one batch of `count` messages of `bytes`, stamped `sentAtMs` (epoch ms); resolves on its receipt. */
  sendBatch(
    count: number,
    bytes: number,
    sentAtMs = performance.timeOrigin + performance.now(),
  ): Promise<void> {
    if (this.template?.count !== count || this.template.bytes !== bytes) {
      const data = encodeBatch(Array.from({ length: count }, () => ({ payload: Buffer.alloc(bytes, 0x61) })));
      this.template = { count, bytes, data, firstPayloadOffset: 4 + data.readUInt32BE(0) };
    }
    const t = this.template;
    t.data.writeDoubleBE(sentAtMs, t.firstPayloadOffset);
    const sequenceId = this.seq++;
    const md = encodeMetadata({
      producerName: 'bench',
      sequenceId,
      publishTime: BigInt(Date.now()),
      numMessagesInBatch: count,
    });
    const section = encodePayloadSection(md, t.data);
    const [head, body] = encodePayloadCommand(
      { type: T.SEND, send: { producerId: this.producerId, sequenceId, numMessages: count } },
      section,
    );
    return new Promise((resolve) => {
      this.client.expectReceipt(this.producerId, resolve);
      this.client.write(head);
      this.client.write(body);
    });
  }

  async close(): Promise<void> {
    await this.client.closeRequest((requestId) => ({
      type: T.CLOSE_PRODUCER,
      closeProducer: { producerId: this.producerId, requestId },
    }));
  }
}

export class BenchConsumer {
  private readonly client: BenchClient;
  private readonly consumerId: bigint;
  private received = 0;
  private last: { l: bigint; e: bigint } | undefined;
  private readonly ackTimer: NodeJS.Timeout;
  private listener: ((count: number, sentAtMs: number) => void) | undefined;

  constructor(client: BenchClient, consumerId: bigint) {
    this.client = client;
    this.consumerId = consumerId;
    client.onBatches(consumerId, (count, sentAt, id) => {
      this.last = id;
      this.received += count;
      if (this.received >= PERMITS / 2) {
        client.send({ type: T.FLOW, flow: { consumerId, messagePermits: this.received } });
        this.received = 0;
      }
      this.listener?.(count, sentAt);
    });
    client.send({ type: T.FLOW, flow: { consumerId, messagePermits: PERMITS } });
    this.ackTimer = setInterval(() => this.ack(), 100);
  }

  onBatch(cb: (count: number, sentAtMs: number) => void): void {
    this.listener = cb;
  }

  private ack(): void {
    if (!this.last) return;
    const { l, e } = this.last;
    this.client.send({
      type: T.ACK,
      ack: { consumerId: this.consumerId, ackType: 1, messageId: [{ ledgerId: l, entryId: e }] },
    });
  }

  async close(): Promise<void> {
    clearInterval(this.ackTimer);
    this.ack();
    await this.client.closeRequest((requestId) => ({
      type: T.CLOSE_CONSUMER,
      closeConsumer: { consumerId: this.consumerId, requestId },
    }));
  }
}
