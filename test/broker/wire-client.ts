/**
 * A small raw Pulsar protocol client for broker tests and benchmarks, built on lib/wire: sends
 * any command, matches responses by request id (or by producer/sequence for receipts), and
 * collects MESSAGE frames per consumer id. It deliberately does nothing on its own (no acks, no
 * flow) so tests control every frame.
 */
import { connect, type Socket } from 'node:net';
import {
  type BaseCommand,
  BaseCommand_Type,
  type CommandSubscribe_SubType,
} from '../../lib/gen/pulsar/PulsarApi_pb.ts';
import { decodeBatch, encodeBatch, isBatchProblem } from '../../lib/wire/batch.ts';
import {
  type CommandInit,
  decodeCommand,
  encodeCommand,
  encodePayloadCommand,
  isCommandProblem,
} from '../../lib/wire/commands.ts';
import { FrameDecoder } from '../../lib/wire/frame.ts';
import { fromMessageIdData, type MessageId } from '../../lib/wire/message-id.ts';
import { decodeMetadata, encodeMetadata, isBatch, type MetadataInit } from '../../lib/wire/metadata.ts';
import { encodePayloadSection, isPayloadProblem, parsePayloadSection } from '../../lib/wire/payload.ts';

export interface ReceivedMessage {
  readonly consumerId: bigint;
  readonly id: MessageId;
  readonly redeliveryCount: number;
  readonly ackSet: readonly bigint[];
  /** Payloads of the messages in the entry (one unless batched). */
  readonly payloads: string[];
  readonly keys: string[];
  readonly entryBytes: Buffer;
}

export class WireClient {
  readonly socket: Socket;
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private nextRequestId = 1n;
  private readonly producerNames = new Map<bigint, string>();
  private readonly waiters: { match: (c: BaseCommand) => boolean; resolve: (c: BaseCommand) => void }[] = [];
  readonly received: BaseCommand[] = [];
  readonly messages: ReceivedMessage[] = [];
  private messageListeners: (() => void)[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /** The broker's answer to CONNECT (CONNECTED or ERROR), when `connect` was not false. */
  connectAnswer: BaseCommand | undefined;

  static async open(
    port: number,
    opts: {
      connect?: boolean;
      protocolVersion?: number;
      /** A JWT sent with auth_method_name "token". */
      token?: string;
      /** CONNECT feature flag: this client answers AUTH_CHALLENGE. */
      supportsAuthRefresh?: boolean;
    } = {},
  ): Promise<WireClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new WireClient(socket);
    if (opts.connect !== false) {
      c.send({
        type: BaseCommand_Type.CONNECT,
        connect: {
          clientVersion: 'wire-test',
          protocolVersion: opts.protocolVersion ?? 19,
          ...(opts.token !== undefined ? { authMethodName: 'token', authData: Buffer.from(opts.token) } : {}),
          ...(opts.supportsAuthRefresh ? { featureFlags: { supportsAuthRefresh: true } } : {}),
        },
      });
      c.connectAnswer = await c.waitFor(
        (x) => x.type === BaseCommand_Type.CONNECTED || x.type === BaseCommand_Type.ERROR,
      );
    }
    return c;
  }

  requestId(): bigint {
    return this.nextRequestId++;
  }

  send(init: CommandInit): void {
    this.socket.write(encodeCommand(init));
  }

  writeRaw(buf: Buffer): void {
    this.socket.write(buf);
  }

  /** Send a command and wait for the response carrying the same request id. */
  async request(init: CommandInit, requestId: bigint): Promise<BaseCommand> {
    const p = this.waitFor((c) => requestIdOf(c) === requestId);
    this.send(init);
    return p;
  }

  waitFor(match: (c: BaseCommand) => boolean, timeoutMs = 15_000): Promise<BaseCommand> {
    const seen = this.received.find(match);
    if (seen) {
      this.received.splice(this.received.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (c: BaseCommand) => {
          clearTimeout(t);
          resolve(c);
        },
      };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(
          new Error(
            `no matching frame within ${timeoutMs} ms; got ${this.received.map((r) => r.type).join(',')}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Resolves when `n` messages (entries) arrived for the consumer. */
  async waitForMessages(consumerId: bigint, n: number, timeoutMs = 15_000): Promise<ReceivedMessage[]> {
    const mine = () => this.messages.filter((m) => m.consumerId === consumerId);
    if (mine().length >= n) return mine();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.messageListeners = this.messageListeners.filter((l) => l !== listener);
        reject(new Error(`expected ${n} messages for consumer ${consumerId}, got ${mine().length}`));
      }, timeoutMs);
      const listener = () => {
        if (mine().length < n) return;
        clearTimeout(t);
        this.messageListeners = this.messageListeners.filter((l) => l !== listener);
        resolve(mine());
      };
      this.messageListeners.push(listener);
    });
  }

  /** LOOKUP a topic: 'connect' / 'redirect' / 'failed' and the broker URL. */
  async lookup(
    topic: string,
  ): Promise<{ response: 'redirect' | 'connect' | 'failed'; url: string; error: number }> {
    const requestId = this.requestId();
    const r = await this.request(
      { type: BaseCommand_Type.LOOKUP, lookupTopic: { topic, requestId } },
      requestId,
    );
    const l = r.lookupTopicResponse!;
    return {
      response: (['redirect', 'connect', 'failed'] as const)[l.response],
      url: l.brokerServiceUrl,
      error: l.error,
    };
  }

  /** LOOKUP until the cluster answers Connect to `url` (bounded), as a client would retry. */
  async lookupUntil(topic: string, url: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.lookup(topic);
      if (r.response === 'connect' && r.url === url) return;
      if (Date.now() > deadline) throw new Error(`lookup of ${topic} still answers ${r.response} ${r.url}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  async createProducer(
    topic: string,
    producerId: bigint,
    extra: Partial<Record<string, unknown>> = {},
  ): Promise<BaseCommand> {
    const requestId = this.requestId();
    const r = await this.request(
      { type: BaseCommand_Type.PRODUCER, producer: { topic, producerId, requestId, ...extra } },
      requestId,
    );
    // Like real clients, put the producer's (possibly broker-given) name into every message's metadata.
    if (r.producerSuccess) this.producerNames.set(producerId, r.producerSuccess.producerName);
    return r;
  }

  async subscribe(
    topic: string,
    subscription: string,
    consumerId: bigint,
    subType: number,
    extra: Partial<Record<string, unknown>> = {},
  ): Promise<BaseCommand> {
    const requestId = this.requestId();
    return this.request(
      {
        type: BaseCommand_Type.SUBSCRIBE,
        subscribe: {
          topic,
          subscription,
          subType: subType as CommandSubscribe_SubType,
          consumerId,
          requestId,
          ...extra,
        },
      },
      requestId,
    );
  }

  flow(consumerId: bigint, permits: number): void {
    this.send({ type: BaseCommand_Type.FLOW, flow: { consumerId, messagePermits: permits } });
  }

  /** SEND one message (or a batch when `batch` is given) and wait for its receipt or error. */
  async publish(
    producerId: bigint,
    sequenceId: bigint,
    payload: string | string[],
    metadata: Partial<MetadataInit> = {},
    keys?: string[],
  ): Promise<BaseCommand> {
    const p = this.waitFor(
      (c) =>
        (c.type === BaseCommand_Type.SEND_RECEIPT &&
          c.sendReceipt?.producerId === producerId &&
          c.sendReceipt.sequenceId === sequenceId) ||
        (c.type === BaseCommand_Type.SEND_ERROR &&
          c.sendError?.producerId === producerId &&
          c.sendError.sequenceId === sequenceId),
    );
    const producerName = this.producerNames.get(producerId) ?? 'wire-test';
    this.socket.write(buildSend(producerId, sequenceId, payload, { producerName, ...metadata }, keys));
    return p;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    for (let f = this.decoder.next(); f !== undefined; f = this.decoder.next()) {
      if ('kind' in f) {
        this.socket.destroy();
        return;
      }
      const cmd = decodeCommand(f.command);
      if (isCommandProblem(cmd)) continue;
      if (cmd.type === BaseCommand_Type.PING) this.send({ type: BaseCommand_Type.PONG, pong: {} });
      if (cmd.type === BaseCommand_Type.MESSAGE && f.payload) this.onMessage(cmd, f.payload);
      const w = this.waiters.find((x) => x.match(cmd));
      if (w) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(cmd);
      } else if (cmd.type !== BaseCommand_Type.MESSAGE) {
        this.received.push(cmd);
      }
    }
  }

  private onMessage(cmd: BaseCommand, payload: Buffer): void {
    const m = cmd.message!;
    const section = parsePayloadSection(payload, true);
    if (isPayloadProblem(section)) throw new Error(`bad MESSAGE payload: ${section.kind}`);
    const md = decodeMetadata(section.metadata);
    if ('kind' in md) throw new Error(md.detail);
    let payloads: string[];
    let keys: string[];
    if (isBatch(md)) {
      const msgs = decodeBatch(section.data, md.numMessagesInBatch);
      if (isBatchProblem(msgs)) throw new Error(msgs.detail);
      payloads = msgs.map((x) => x.payload.toString());
      keys = msgs.map((x) => x.metadata.partitionKey);
    } else {
      payloads = [section.data.toString()];
      keys = [md.partitionKey];
    }
    this.messages.push({
      consumerId: m.consumerId,
      id: fromMessageIdData(m.messageId!),
      redeliveryCount: m.redeliveryCount,
      ackSet: m.ackSet,
      payloads,
      keys,
      entryBytes: Buffer.from(payload),
    });
    for (const l of [...this.messageListeners]) l();
  }
}

export function buildSend(
  producerId: bigint,
  sequenceId: bigint,
  payload: string | string[],
  metadata: Partial<MetadataInit> = {},
  keys?: string[],
): Buffer {
  const md = {
    producerName: 'wire-test',
    sequenceId,
    publishTime: BigInt(Date.now()),
    ...metadata,
  } as MetadataInit;
  let data: Buffer;
  let numMessages = 1;
  if (Array.isArray(payload)) {
    data = encodeBatch(
      payload.map((p, i) => ({ payload: Buffer.from(p), metadata: keys ? { partitionKey: keys[i] } : {} })),
    );
    md.numMessagesInBatch = payload.length;
    numMessages = payload.length;
  } else {
    data = Buffer.from(payload);
  }
  const section = encodePayloadSection(encodeMetadata(md), data);
  const [head, body] = encodePayloadCommand(
    { type: BaseCommand_Type.SEND, send: { producerId, sequenceId, numMessages } },
    section,
  );
  return Buffer.concat([head, body]);
}

export function requestIdOf(cmd: BaseCommand): bigint | undefined {
  const name = Object.keys(cmd).find((k) => k !== 'type' && k !== '$typeName');
  const body = name ? (cmd as unknown as Record<string, { requestId?: unknown }>)[name] : undefined;
  return typeof body?.requestId === 'bigint' ? body.requestId : undefined;
}

export const T = BaseCommand_Type;
