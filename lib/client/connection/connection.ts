/**
 * One TCP connection to a broker, shared by every producer, consumer and lookup that needs that
 * broker (pulsar-protocol.md §5.2.1). It does the CONNECT handshake (with a token when configured,
 * answering AUTH_CHALLENGE with a fresh one), matches answers to requests by request id, routes
 * receipts and messages to the producer/consumer registered under their id, answers PING, and
 * runs keep-alive and request timeouts from one interval timer.
 *
 * When the socket closes every pending request fails with CONNECTION_CLOSED and every registered
 * producer/consumer is told, so it can reconnect.
 */
import { connect as netConnect, type Socket } from 'node:net';
import type {
  CommandAuthChallenge,
  CommandMessage,
  CommandSendError,
  CommandSendReceipt,
} from '../../gen/pulsar/PulsarApi_pb.ts';
import type { Logger } from '../../log/index.ts';
import {
  type CommandInit,
  commandName,
  decodeCommand,
  encodeCommand,
  isCommandProblem,
} from '../../wire/commands.ts';
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  FRAME_PADDING_BYTES,
  FrameDecoder,
  type RawFrame,
} from '../../wire/frame.ts';
import { type BaseCommand, CommandTypes, MAX_PROTOCOL_VERSION } from '../../wire/protocol.ts';
import { clientErrors, fromServerError } from '../errors.ts';
import type { Authentication } from '../options.ts';
import { KeepAlive } from './keepalive.ts';
import { RequestTable } from './requests.ts';
import { CLIENT_VERSION, connectCommand, errorOf, responseRequestId, tokenOf } from './responses.ts';
import { splitHostPort } from './service-url.ts';

export interface ProducerListener {
  onSendReceipt(cmd: CommandSendReceipt): void;
  onSendError(cmd: CommandSendError): void;
  /** The broker closed this producer (topic unloaded or moved): look up and re-create. */
  onClosedByBroker(): void;
  onConnectionClosed(cnx: ClientConnection): void;
}

export interface ConsumerListener {
  onMessage(cmd: CommandMessage, payload: Buffer): void;
  onActiveConsumerChange(active: boolean): void;
  onReachedEndOfTopic(): void;
  onClosedByBroker(): void;
  onConnectionClosed(cnx: ClientConnection): void;
}

export interface ConnectionOptions {
  /** The broker the connection speaks for (the lookup's answer). */
  readonly logicalAddress: string;
  /** Where the TCP connection goes (differs from logical only through a proxy). */
  readonly physicalAddress: string;
  readonly connectionTimeoutMs: number;
  readonly operationTimeoutMs: number;
  readonly keepAliveIntervalMs: number;
  readonly authentication?: Authentication;
  readonly log: Logger;
}

type State = 'connecting' | 'ready' | 'closed';

export class ClientConnection {
  readonly logicalAddress: string;
  readonly physicalAddress: string;
  /** Protocol version the broker answered (min of ours and its own). */
  protocolVersion = 0;
  /** Largest message the broker accepts (CONNECTED.max_message_size). */
  maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
  private readonly opts: ConnectionOptions;
  private readonly socket: Socket;
  private decoder = new FrameDecoder(DEFAULT_MAX_MESSAGE_SIZE + FRAME_PADDING_BYTES);
  private readonly requests = new RequestTable();
  private readonly producers = new Map<number, ProducerListener>();
  private readonly consumers = new Map<number, ConsumerListener>();
  private readonly closeListeners: ((cnx: ClientConnection) => void)[] = [];
  private keepAlive: KeepAlive;
  private ticker: NodeJS.Timeout | undefined;
  private state: State = 'connecting';
  private nextRequestId = 0;
  private closeReason = 'closed';
  private handshake: { resolve: () => void; reject: (err: Error) => void } | undefined;

  private constructor(opts: ConnectionOptions, socket: Socket) {
    this.opts = opts;
    this.logicalAddress = opts.logicalAddress;
    this.physicalAddress = opts.physicalAddress;
    this.socket = socket;
    this.keepAlive = new KeepAlive(opts.keepAliveIntervalMs, Date.now());
  }

  /** Connect and complete the CONNECT/CONNECTED handshake within connectionTimeoutMs. */
  static async open(opts: ConnectionOptions): Promise<ClientConnection> {
    const authData = opts.authentication ? await tokenOf(opts.authentication) : undefined;
    const { host, port } = splitHostPort(opts.physicalAddress);
    const socket = netConnect({ host, port, noDelay: true, keepAlive: true });
    const cnx = new ClientConnection(opts, socket);
    const connected = new Promise<void>((resolve, reject) => {
      cnx.handshake = { resolve, reject };
    });
    const timer = setTimeout(() => {
      cnx.fail(
        clientErrors.make('TIMEOUT', {
          operation: `connect to ${opts.physicalAddress}`,
          timeoutMs: opts.connectionTimeoutMs,
        }),
      );
    }, opts.connectionTimeoutMs);
    socket.on('connect', () => cnx.write(encodeCommand(connectCommand(opts, authData))));
    socket.on('data', (chunk: Buffer) => cnx.onData(chunk));
    socket.on('error', (err) => {
      cnx.closeReason = err.message;
      if (cnx.state === 'connecting') {
        cnx.fail(
          clientErrors.make('CONNECT_FAILED', { address: opts.physicalAddress, reason: err.message }, err),
        );
      }
    });
    socket.on('close', () => cnx.onSocketClosed());
    try {
      await connected;
    } finally {
      clearTimeout(timer);
    }
    return cnx;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  newRequestId(): number {
    return this.nextRequestId++;
  }

  onClose(listener: (cnx: ClientConnection) => void): void {
    this.closeListeners.push(listener);
  }

  registerProducer(producerId: number, listener: ProducerListener): void {
    this.producers.set(producerId, listener);
  }

  removeProducer(producerId: number, listener?: ProducerListener): void {
    if (!listener || this.producers.get(producerId) === listener) this.producers.delete(producerId);
  }

  registerConsumer(consumerId: number, listener: ConsumerListener): void {
    this.consumers.set(consumerId, listener);
  }

  removeConsumer(consumerId: number, listener?: ConsumerListener): void {
    if (!listener || this.consumers.get(consumerId) === listener) this.consumers.delete(consumerId);
  }

  /**
   * Send a command carrying `requestId` and wait for its answer (SUCCESS, ERROR or the typed
   * response). An ERROR answer rejects with the mapped client error.
   */
  request(
    init: CommandInit,
    requestId: number,
    operation: string,
    timeoutMs = this.opts.operationTimeoutMs,
  ): Promise<BaseCommand> {
    if (this.state !== 'ready') {
      return Promise.reject(this.closedError());
    }
    return new Promise<BaseCommand>((resolve, reject) => {
      this.requests.add({ requestId, operation, deadline: Date.now() + timeoutMs, resolve, reject });
      this.write(encodeCommand(init));
    });
  }

  /** Keep a request pending without a deadline (a producer waiting for exclusive access). */
  extendRequest(requestId: number): void {
    const req = this.requests.get(requestId);
    if (req) req.deadline = Number.POSITIVE_INFINITY;
  }

  /** Write a whole frame; false when the connection is not usable. */
  write(frame: Buffer): boolean {
    if (this.socket.destroyed) return false;
    this.socket.write(frame);
    return true;
  }

  /** Write a payload frame given as head + payload section with one syscall. */
  writePair(head: Buffer, payload: Buffer): boolean {
    if (this.socket.destroyed) return false;
    this.socket.cork();
    this.socket.write(head);
    this.socket.write(payload);
    this.socket.uncork();
    return true;
  }

  close(reason = 'closed by client'): void {
    if (this.state === 'closed') return;
    this.closeReason = reason;
    this.socket.destroy();
  }

  private fail(err: Error): void {
    const hs = this.handshake;
    this.handshake = undefined;
    hs?.reject(err);
    this.socket.destroy();
  }

  private closedError(): Error {
    return clientErrors.make('CONNECTION_CLOSED', {
      address: this.physicalAddress,
      reason: this.closeReason,
    });
  }

  private onData(chunk: Buffer): void {
    this.keepAlive.received(Date.now());
    this.decoder.push(chunk);
    for (;;) {
      const frame = this.decoder.next();
      if (frame === undefined) return;
      if ('kind' in frame) {
        this.protocolError(`${frame.kind} (frame of ${frame.totalSize} bytes)`);
        return;
      }
      if (!this.onFrame(frame)) return;
    }
  }

  /** Handle one frame; false when the connection was closed because of it. */
  private onFrame(frame: RawFrame): boolean {
    const cmd = decodeCommand(frame.command);
    if (isCommandProblem(cmd)) {
      this.protocolError(cmd.detail);
      return false;
    }
    if (this.state === 'connecting') return this.onHandshakeFrame(cmd, frame);
    try {
      this.dispatch(cmd, frame.payload);
    } catch (err) {
      this.opts.log.error({ err, command: commandName(cmd.type) }, 'client handler failed');
    }
    return this.state === 'ready';
  }

  private onHandshakeFrame(cmd: BaseCommand, frame: RawFrame): boolean {
    if (cmd.type === CommandTypes.CONNECTED && cmd.connected) {
      this.protocolVersion = cmd.connected.protocolVersion;
      if (cmd.connected.maxMessageSize > 0) this.maxMessageSize = cmd.connected.maxMessageSize;
      if (this.maxMessageSize > DEFAULT_MAX_MESSAGE_SIZE && this.decoder.bufferedBytes === 0) {
        this.decoder = new FrameDecoder(this.maxMessageSize + FRAME_PADDING_BYTES);
      }
      this.state = 'ready';
      const tickMs = Math.max(
        10,
        Math.min(1000, this.opts.operationTimeoutMs / 4, this.opts.keepAliveIntervalMs / 2),
      );
      this.ticker = setInterval(() => this.tick(), tickMs);
      this.ticker.unref();
      const hs = this.handshake;
      this.handshake = undefined;
      hs?.resolve();
      return true;
    }
    if (cmd.type === CommandTypes.ERROR && cmd.error) {
      this.fail(fromServerError(cmd.error.error, cmd.error.message, { address: this.physicalAddress }));
      return false;
    }
    if (cmd.type === CommandTypes.AUTH_CHALLENGE && cmd.authChallenge) {
      void this.answerChallenge(cmd.authChallenge);
      return true;
    }
    this.protocolError(`${commandName(cmd.type)} before CONNECTED${frame.payload ? ' (with payload)' : ''}`);
    return false;
  }

  private dispatch(cmd: BaseCommand, payload: Buffer | undefined): void {
    switch (cmd.type) {
      case CommandTypes.MESSAGE: {
        const m = cmd.message!;
        const listener = this.consumers.get(Number(m.consumerId));
        if (listener && payload) listener.onMessage(m, payload);
        return;
      }
      case CommandTypes.SEND_RECEIPT:
        this.producers.get(Number(cmd.sendReceipt!.producerId))?.onSendReceipt(cmd.sendReceipt!);
        return;
      case CommandTypes.SEND_ERROR:
        this.producers.get(Number(cmd.sendError!.producerId))?.onSendError(cmd.sendError!);
        return;
      case CommandTypes.PING:
        this.write(encodeCommand({ type: CommandTypes.PONG, pong: {} }));
        return;
      case CommandTypes.PONG:
        return;
      case CommandTypes.CLOSE_PRODUCER:
        this.producers.get(Number(cmd.closeProducer!.producerId))?.onClosedByBroker();
        return;
      case CommandTypes.CLOSE_CONSUMER:
        this.consumers.get(Number(cmd.closeConsumer!.consumerId))?.onClosedByBroker();
        return;
      case CommandTypes.ACTIVE_CONSUMER_CHANGE:
        this.consumers
          .get(Number(cmd.activeConsumerChange!.consumerId))
          ?.onActiveConsumerChange(cmd.activeConsumerChange!.isActive);
        return;
      case CommandTypes.REACHED_END_OF_TOPIC:
        this.consumers.get(Number(cmd.reachedEndOfTopic!.consumerId))?.onReachedEndOfTopic();
        return;
      case CommandTypes.AUTH_CHALLENGE:
        void this.answerChallenge(cmd.authChallenge!);
        return;
      default:
        this.answer(cmd);
    }
  }

  /** A response to a request: resolve or reject the request with that id. */
  private answer(cmd: BaseCommand): void {
    const requestId = responseRequestId(cmd);
    if (requestId === undefined) {
      this.opts.log.debug({ command: commandName(cmd.type) }, 'ignoring unexpected command');
      return;
    }
    if (cmd.type === CommandTypes.PRODUCER_SUCCESS && cmd.producerSuccess?.producerReady === false) {
      // WaitForExclusive: the producer is queued; a second PRODUCER_SUCCESS says it is ready.
      this.extendRequest(requestId);
      return;
    }
    const req = this.requests.take(requestId);
    if (!req) return;
    const error = errorOf(cmd);
    if (error) req.reject(fromServerError(error.code, error.message, { operation: req.operation }));
    else req.resolve(cmd);
  }

  private async answerChallenge(challenge: CommandAuthChallenge): Promise<void> {
    const auth = this.opts.authentication;
    let token = '';
    try {
      token = auth ? await tokenOf(auth) : '';
    } catch (err) {
      this.opts.log.warn({ err }, 'could not refresh the token for AUTH_CHALLENGE');
    }
    this.write(
      encodeCommand({
        type: CommandTypes.AUTH_RESPONSE,
        authResponse: {
          clientVersion: CLIENT_VERSION,
          protocolVersion: MAX_PROTOCOL_VERSION,
          response: {
            authMethodName: challenge.challenge?.authMethodName || 'token',
            authData: Buffer.from(token),
          },
        },
      }),
    );
  }

  private tick(): void {
    const now = Date.now();
    for (const req of this.requests.expired(now)) {
      req.reject(
        clientErrors.make('TIMEOUT', { operation: req.operation, timeoutMs: this.opts.operationTimeoutMs }),
      );
    }
    const action = this.keepAlive.tick(now);
    if (action === 'ping') this.write(encodeCommand({ type: CommandTypes.PING, ping: {} }));
    else if (action === 'dead') this.close(`no answer to PING within ${this.opts.keepAliveIntervalMs} ms`);
  }

  private protocolError(detail: string): void {
    const err = clientErrors.make('PROTOCOL_ERROR', { address: this.physicalAddress, detail });
    this.opts.log.warn({ err: err.message }, 'closing connection');
    this.closeReason = `protocol error: ${detail}`;
    if (this.state === 'connecting') this.fail(err);
    else this.socket.destroy();
  }

  private onSocketClosed(): void {
    const wasConnecting = this.state === 'connecting';
    this.state = 'closed';
    if (this.ticker) clearInterval(this.ticker);
    if (wasConnecting) {
      this.fail(
        clientErrors.make('CONNECT_FAILED', { address: this.physicalAddress, reason: this.closeReason }),
      );
    }
    const err = this.closedError();
    for (const req of this.requests.drain()) req.reject(err);
    const producers = [...this.producers.values()];
    const consumers = [...this.consumers.values()];
    this.producers.clear();
    this.consumers.clear();
    for (const l of this.closeListeners) l(this);
    for (const p of producers) p.onConnectionClosed(this);
    for (const c of consumers) c.onConnectionClosed(this);
  }
}
