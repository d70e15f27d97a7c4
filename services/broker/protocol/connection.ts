/**
 * One client TCP connection (the reference broker's ServerCnx): frame reassembly with the max
 * frame size, the CONNECT handshake, keep-alive, command routing, and both directions of
 * backpressure. State machine: awaiting-connect → connected → closed.
 *
 * Bad input: a frame problem (oversized, impossible sizes) or undecodable command bytes close
 * the connection (the stream cannot be trusted); a well-framed but wrong command gets a coded
 * error and the connection keeps serving. Commands before CONNECT close the connection.
 */
import type { Socket } from 'node:net';
import { isFieldSet } from '@bufbuild/protobuf';
import {
  type BaseCommand,
  BaseCommand_Type,
  type CommandAuthResponse,
  CommandConnectSchema,
} from '../../../lib/gen/pulsar/PulsarApi_pb.ts';
import {
  type CommandInit,
  commandName,
  decodeCommand,
  encodeCommand,
  isCommandProblem,
} from '../../../lib/wire/commands.ts';
import { FRAME_PADDING_BYTES, FrameDecoder, type RawFrame } from '../../../lib/wire/frame.ts';
import type { TopicName } from '../../../lib/wire/topic-name.ts';
import { MAX_PROTOCOL_VERSION } from '../../../lib/wire/protocol.ts';
import { brokerErrors, toServerError } from '../errors.ts';
import type { ClientInfo } from '../topics/topic.ts';
import { ConnectionAuth } from './connection-auth.ts';
import type {
  BrokerContext,
  ConnectionHandle,
  ConsumerSlot,
  ProducerSlot,
  TopicOperation,
} from './context.ts';
import { routeCommand } from './router.ts';

let nextConnectionId = 1;
const SERVER_VERSION = 'Magnetar 0.1.0';

type State = 'awaiting-connect' | 'connected' | 'closed';

export class ServerConnection implements ConnectionHandle {
  readonly id = nextConnectionId++;
  readonly ctx: BrokerContext;
  readonly producers = new Map<bigint, ProducerSlot>();
  readonly consumers = new Map<bigint, ConsumerSlot>();
  private readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private state: State = 'awaiting-connect';
  private protocolVersion = 0;
  private clientVersion = '';
  private readonly connectedSince = new Date().toISOString();
  private readonly address: string;
  private lastReceivedMs = Date.now();
  private pingOutstanding = false;
  private keepAlive: NodeJS.Timeout | undefined;
  private pendingSends = 0;
  private pendingSendBytes = 0;
  private readPaused = false;
  /** Producers throttled by their topic's publish rate: no frame is read or decoded meanwhile. */
  private readonly inputPausers = new Set<object>();
  private drainScheduled = false;
  readonly auth: ConnectionAuth;
  private corked = false;
  private isWritable = true;
  private readonly writabilityListeners = new Set<(writable: boolean) => void>();
  private readonly onClosed: (c: ServerConnection) => void;
  readonly client: ClientInfo;

  constructor(socket: Socket, ctx: BrokerContext, onClosed: (c: ServerConnection) => void) {
    this.socket = socket;
    this.ctx = ctx;
    this.onClosed = onClosed;
    this.address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.decoder = new FrameDecoder(ctx.config.maxMessageSizeBytes + FRAME_PADDING_BYTES);
    this.auth = new ConnectionAuth(this);
    const self = this;
    this.client = {
      connectionId: this.id,
      address: this.address,
      get clientVersion() {
        return self.clientVersion;
      },
      get protocolVersion() {
        return self.protocolVersion;
      },
      connectedSince: this.connectedSince,
      get alive() {
        return self.state !== 'closed';
      },
    };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.updateWritable());
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close('socket closed by peer'));
    this.keepAlive = setInterval(
      () => this.tick(),
      Math.min(ctx.config.keepAliveIntervalMs, ctx.config.connectTimeoutMs),
    );
    this.keepAlive.unref();
  }

  get writable(): boolean {
    return this.isWritable;
  }

  onWritabilityChange(listener: (writable: boolean) => void): () => void {
    this.writabilityListeners.add(listener);
    return () => this.writabilityListeners.delete(listener);
  }

  send(init: CommandInit): void {
    this.write(encodeCommand(init));
  }

  writeRaw(...buffers: Buffer[]): void {
    for (const b of buffers) this.write(b);
  }

  sendError(requestId: bigint, err: unknown): void {
    const { code, message } = toServerError(err);
    this.send({ type: BaseCommand_Type.ERROR, error: { requestId, error: code, message } });
  }

  authorize(topic: TopicName, op: TopicOperation, subscription?: string): Promise<void> {
    return this.auth.authorize(topic, op, subscription);
  }

  authorizeListTopics(namespace: string): Promise<void> {
    return this.auth.authorizeListTopics(namespace);
  }

  authResponse(cmd: CommandAuthResponse): Promise<void> {
    return this.auth.onAuthResponse(cmd);
  }

  pauseInput(by: object): void {
    if (this.state === 'closed' || this.inputPausers.has(by)) return;
    this.inputPausers.add(by);
    if (this.inputPausers.size === 1 && !this.readPaused) this.socket.pause();
  }

  resumeInput(by: object): void {
    if (!this.inputPausers.delete(by) || this.inputPausers.size > 0 || this.state === 'closed') return;
    if (!this.readPaused) this.socket.resume();
    // Frames that arrived before the pause are still in the decoder: handle them, outside the caller.
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => {
        this.drainScheduled = false;
        this.processFrames();
      });
    }
  }

  sendStarted(bytes: number): void {
    this.pendingSends++;
    this.pendingSendBytes += bytes;
    const c = this.ctx.config;
    if (
      !this.readPaused &&
      (this.pendingSends >= c.maxPendingSendsPerConnection ||
        this.pendingSendBytes >= c.maxPendingSendBytesPerConnection)
    ) {
      this.readPaused = true;
      this.socket.pause();
      this.ctx.metrics.pausedConnections.inc();
    }
  }

  sendFinished(bytes: number): void {
    this.pendingSends--;
    this.pendingSendBytes -= bytes;
    const c = this.ctx.config;
    if (
      this.readPaused &&
      this.pendingSends <= c.maxPendingSendsPerConnection / 2 &&
      this.pendingSendBytes <= c.maxPendingSendBytesPerConnection / 2
    ) {
      this.readPaused = false;
      this.ctx.metrics.pausedConnections.dec();
      if (this.state !== 'closed' && this.inputPausers.size === 0) this.socket.resume();
    }
  }

  close(reason: string, opts: { destroy?: boolean } = {}): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.keepAlive);
    this.auth.stop();
    if (this.readPaused) this.ctx.metrics.pausedConnections.dec();
    this.ctx.log.debug({ connection: this.id, address: this.address, reason }, 'connection closed');
    this.ctx.metrics.connectionsClosed.inc({ reason: reasonLabel(reason) });
    if (opts.destroy) {
      this.socket.destroy();
    } else {
      // Let queued frames (e.g. a final ERROR) go out, then drop the socket.
      if (this.corked) this.socket.uncork();
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1_000).unref();
    }
    this.releaseAttachments();
    this.onClosed(this);
  }

  private releaseAttachments(): void {
    for (const slot of this.producers.values()) if (slot.state === 'ready') slot.session.detach();
    for (const slot of this.consumers.values()) {
      if (slot.state !== 'ready') continue;
      slot.session.end();
      slot.attached.detach().catch((err: unknown) => this.ctx.log.warn({ err }, 'consumer detach failed'));
    }
    this.producers.clear();
    this.consumers.clear();
  }

  private write(buf: Buffer): void {
    if (this.state === 'closed' && this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(buf);
    this.updateWritable();
  }

  private updateWritable(): void {
    const queued = this.socket.writableLength;
    const c = this.ctx.config;
    if (queued >= c.maxOutboundHardBytesPerConnection && this.state !== 'closed') {
      this.ctx.metrics.protocolErrors.inc({ kind: 'outbound-overflow' });
      this.close('peer does not read: outbound buffer over its hard limit', { destroy: true });
      return;
    }
    const writable = queued < c.maxOutboundBytesPerConnection;
    if (writable === this.isWritable) return;
    this.isWritable = writable;
    for (const l of [...this.writabilityListeners]) l(writable);
  }

  private onData(chunk: Buffer) {
    if (this.state === 'closed') return;
    this.lastReceivedMs = Date.now();
    this.pingOutstanding = false;
    this.decoder.push(chunk);
    this.processFrames();
  }

  private processFrames(): void {
    for (;;) {
      if (!this.client.alive || this.inputPausers.size > 0) return;
      const frame = this.decoder.next();
      if (frame === undefined) return;
      if ('kind' in frame) {
        this.ctx.metrics.protocolErrors.inc({ kind: frame.kind });
        const err =
          frame.kind === 'frame-too-large'
            ? brokerErrors.make('FRAME_TOO_LARGE', { size: frame.totalSize, max: frame.maxFrameBytes })
            : brokerErrors.make('PROTOCOL_VIOLATION', { detail: `bad frame: ${frame.kind}` });
        if (this.state === 'connected') this.sendError(0n, err);
        this.close(err.message);
        return;
      }
      this.onFrame(frame);
    }
  }

  private onFrame(frame: RawFrame) {
    const cmd = decodeCommand(frame.command);
    if (isCommandProblem(cmd)) {
      this.ctx.metrics.protocolErrors.inc({ kind: cmd.kind });
      if (cmd.kind === 'undecodable' || this.state !== 'connected') {
        if (this.state === 'connected')
          this.sendError(0n, brokerErrors.make('MALFORMED_COMMAND', { detail: cmd.detail }));
        return this.close(`bad command: ${cmd.detail}`);
      }
      const code = cmd.kind === 'unknown-type' ? 'UNKNOWN_COMMAND' : 'MALFORMED_COMMAND';
      return this.sendError(0n, brokerErrors.make(code, { detail: cmd.detail }));
    }
    this.ctx.metrics.commands.inc({ type: commandName(cmd.type) });
    if (this.state === 'awaiting-connect') {
      if (cmd.type !== BaseCommand_Type.CONNECT) return this.close(`${commandName(cmd.type)} before CONNECT`);
      void this.onConnect(cmd);
      return;
    }
    if (cmd.type === BaseCommand_Type.CONNECT) {
      return this.sendError(0n, brokerErrors.make('UNEXPECTED_COMMAND', { command: 'second CONNECT' }));
    }
    this.route(cmd, frame.payload);
  }

  private route(cmd: BaseCommand, payload: Buffer | undefined): void {
    try {
      const result = routeCommand(this, cmd, payload);
      if (result instanceof Promise) {
        result.catch((err: unknown) =>
          this.ctx.log.error({ err, command: commandName(cmd.type) }, 'command handler failed'),
        );
      }
    } catch (err) {
      this.ctx.log.error({ err, command: commandName(cmd.type) }, 'command handler failed');
      this.sendError(0n, brokerErrors.make('INTERNAL', { reason: (err as Error).message }));
    }
  }

  private async onConnect(cmd: BaseCommand): Promise<void> {
    const connect = cmd.connect!;
    this.clientVersion = connect.clientVersion;
    const version = isFieldSet(connect, CommandConnectSchema.field.protocolVersion)
      ? connect.protocolVersion
      : 0;
    this.protocolVersion = Math.max(0, Math.min(version, MAX_PROTOCOL_VERSION));
    try {
      await this.auth.connect(connect.authMethodName, connect.authData, {
        supportsRefresh: connect.featureFlags?.supportsAuthRefresh ?? false,
        serverVersion: SERVER_VERSION,
        protocolVersion: this.protocolVersion,
      });
    } catch (err) {
      this.sendError(0n, err);
      return this.close('authentication failed');
    }
    if (!this.client.alive) return;
    this.state = 'connected';
    this.send({
      type: BaseCommand_Type.CONNECTED,
      connected: {
        serverVersion: SERVER_VERSION,
        protocolVersion: this.protocolVersion,
        maxMessageSize: this.ctx.config.maxMessageSizeBytes,
      },
    });
  }

  /** Keep-alive: PING an idle client, close one that stayed silent for two intervals. */
  private tick() {
    const now = Date.now();
    const c = this.ctx.config;
    if (this.state === 'awaiting-connect') {
      if (now - this.lastReceivedMs >= c.connectTimeoutMs) this.close('no CONNECT in time');
      return;
    }
    if (this.state !== 'connected') return;
    const idle = now - this.lastReceivedMs;
    if (this.pingOutstanding && idle >= 2 * c.keepAliveIntervalMs) return this.close('keep-alive timeout');
    if (idle >= c.keepAliveIntervalMs && !this.pingOutstanding && this.protocolVersion >= 1) {
      this.pingOutstanding = true;
      this.send({ type: BaseCommand_Type.PING, ping: {} });
    }
  }
}

function reasonLabel(reason: string): string {
  if (reason.startsWith('socket closed')) return 'peer';
  if (reason.includes('keep-alive')) return 'keepalive';
  if (reason.startsWith('bad') || reason.includes('frame') || reason.includes('before CONNECT'))
    return 'protocol';
  if (reason.includes('outbound')) return 'slow-reader';
  return 'other';
}
