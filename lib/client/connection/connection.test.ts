/**
 * The connection state machine and lookup against a minimal scripted TCP peer on 127.0.0.1 (the
 * peer only decodes frames and answers as each test scripts it; integration tests use the broker).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../log/index.ts';
import { type CommandInit, decodeCommand, encodeCommand, isCommandProblem } from '../../wire/commands.ts';
import { FrameDecoder } from '../../wire/frame.ts';
import { type BaseCommand, CommandTypes, LookupType, ServerError } from '../../wire/protocol.ts';
import { resolveClientOptions } from '../options.ts';
import { ClientConnection, type ConnectionOptions, type ProducerListener } from './connection.ts';
import { LookupService } from './lookup.ts';
import { ConnectionPool } from './pool.ts';

type Script = (cmd: BaseCommand, reply: (c: CommandInit) => void, socket: Socket) => boolean | undefined;

interface Peer {
  readonly port: number;
  readonly received: BaseCommand[];
  readonly sockets: Socket[];
  close(): Promise<void>;
}

const peers: Peer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

/**
 * A peer that runs `script` on every command; a CONNECT the script does not handle (returns
 * true) is answered with CONNECTED.
 */
async function peer(script: Script = () => undefined, opts: { chunked?: boolean } = {}): Promise<Peer> {
  const received: BaseCommand[] = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    const dec = new FrameDecoder(1 << 20);
    const reply = (c: CommandInit) => {
      const bytes = encodeCommand(c);
      if (!opts.chunked) socket.write(bytes);
      else for (const b of bytes) socket.write(Buffer.from([b]));
    };
    socket.on('data', (chunk) => {
      dec.push(chunk);
      for (let f = dec.next(); f && !('kind' in f); f = dec.next()) {
        const cmd = decodeCommand(f.command);
        if (isCommandProblem(cmd)) throw new Error(cmd.detail);
        received.push(cmd);
        const handled = script(cmd, reply, socket) === true;
        if (cmd.type === CommandTypes.CONNECT && !handled) {
          reply({
            type: CommandTypes.CONNECTED,
            connected: { serverVersion: 'peer', protocolVersion: 19, maxMessageSize: 1234567 },
          });
        }
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const p: Peer = {
    port,
    received,
    sockets,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  peers.push(p);
  return p;
}

function options(port: number, extra: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return {
    logicalAddress: `127.0.0.1:${port}`,
    physicalAddress: `127.0.0.1:${port}`,
    connectionTimeoutMs: 2000,
    operationTimeoutMs: 2000,
    keepAliveIntervalMs: 30_000,
    log: silentLogger(),
    ...extra,
  };
}

describe('ClientConnection', () => {
  it('sends CONNECT with protocol 19 and the token, and reads max_message_size', async () => {
    const p = await peer();
    const cnx = await ClientConnection.open(options(p.port, { authentication: { token: () => 'jwt-1' } }));
    const connect = p.received[0].connect!;
    expect(connect.protocolVersion).toBe(19);
    expect(connect.authMethodName).toBe('token');
    expect(Buffer.from(connect.authData).toString()).toBe('jwt-1');
    expect(connect.featureFlags?.supportsAuthRefresh).toBe(true);
    expect(cnx.maxMessageSize).toBe(1234567);
    expect(cnx.protocolVersion).toBe(19);
    cnx.close();
  });

  it('fails the handshake with the broker error code (authentication)', async () => {
    const p = await peer((cmd, reply, socket) => {
      if (cmd.type === CommandTypes.CONNECT) {
        reply({
          type: CommandTypes.ERROR,
          error: { requestId: 0n, error: ServerError.AuthenticationError, message: 'bad token' },
        });
        socket.end();
        return true;
      }
      return undefined;
    });
    await expect(ClientConnection.open(options(p.port))).rejects.toMatchObject({
      code: 'AUTHENTICATION_FAILED',
    });
  });

  it('times out a handshake the peer never answers, and reports refused connections', async () => {
    const p = await peer((cmd, _reply, socket) => {
      return cmd.type === CommandTypes.CONNECT ? socket.pause() !== undefined : undefined;
    });
    await expect(ClientConnection.open(options(p.port, { connectionTimeoutMs: 100 }))).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    const closedPort = p.port;
    await p.close();
    peers.length = 0;
    await expect(ClientConnection.open(options(closedPort))).rejects.toMatchObject({
      code: 'CONNECT_FAILED',
    });
  });

  it('matches answers to requests by id, out of order, and maps ERROR answers', async () => {
    const held: BaseCommand[] = [];
    const p = await peer(
      (cmd, reply) => {
        if (cmd.type !== CommandTypes.PARTITIONED_METADATA) return;
        held.push(cmd);
        if (held.length < 3) return;
        for (const c of held.reverse()) {
          const requestId = c.partitionMetadata!.requestId;
          if (c.partitionMetadata!.topic === 'bad') {
            reply({
              type: CommandTypes.ERROR,
              error: { requestId, error: ServerError.TopicNotFound, message: 'no such topic' },
            });
          } else {
            reply({
              type: CommandTypes.PARTITIONED_METADATA_RESPONSE,
              partitionMetadataResponse: { requestId, partitions: Number(requestId) + 10 },
            });
          }
        }
      },
      { chunked: true },
    );
    const cnx = await ClientConnection.open(options(p.port));
    const ask = (topic: string) => {
      const id = cnx.newRequestId();
      return cnx.request(
        { type: CommandTypes.PARTITIONED_METADATA, partitionMetadata: { topic, requestId: BigInt(id) } },
        id,
        `PM ${topic}`,
      );
    };
    const a = ask('a');
    const b = ask('bad');
    const c = ask('c');
    expect((await a).partitionMetadataResponse?.partitions).toBe(10);
    await expect(b).rejects.toMatchObject({ code: 'TOPIC_NOT_FOUND', retry: 'bad-request' });
    expect((await c).partitionMetadataResponse?.partitions).toBe(12);
    cnx.close();
  });

  it('times out an unanswered request and fails pending ones when the connection drops', async () => {
    const p = await peer();
    const cnx = await ClientConnection.open(options(p.port, { operationTimeoutMs: 150 }));
    const id = cnx.newRequestId();
    const req = cnx.request(
      { type: CommandTypes.PARTITIONED_METADATA, partitionMetadata: { topic: 't', requestId: BigInt(id) } },
      id,
      'PM t',
    );
    await expect(req).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('PM t') });

    const closed: string[] = [];
    const listener: ProducerListener = {
      onSendReceipt: () => undefined,
      onSendError: () => undefined,
      onClosedByBroker: () => closed.push('broker'),
      onConnectionClosed: () => closed.push('connection'),
    };
    cnx.registerProducer(7, listener);
    const id2 = cnx.newRequestId();
    const req2 = cnx.request(
      { type: CommandTypes.PARTITIONED_METADATA, partitionMetadata: { topic: 't', requestId: BigInt(id2) } },
      id2,
      'PM t',
      60_000,
    );
    for (const s of p.sockets) s.destroy();
    await expect(req2).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(closed).toEqual(['connection']);
    expect(cnx.isReady).toBe(false);
  });

  it('answers PING, pings a silent peer, and drops a peer that stops answering', async () => {
    let answerPings = true;
    const p = await peer((cmd, reply) => {
      if (cmd.type === CommandTypes.CONNECT)
        setTimeout(() => reply({ type: CommandTypes.PING, ping: {} }), 5);
      if (cmd.type === CommandTypes.PING && answerPings) reply({ type: CommandTypes.PONG, pong: {} });
    });
    const cnx = await ClientConnection.open(options(p.port, { keepAliveIntervalMs: 60 }));
    const deadline = Date.now() + 5000;
    while (!p.received.some((c) => c.type === CommandTypes.PONG) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(p.received.some((c) => c.type === CommandTypes.PONG)).toBe(true);
    while (!p.received.some((c) => c.type === CommandTypes.PING) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(cnx.isReady).toBe(true);
    answerPings = false;
    const gone = new Promise<void>((r) => cnx.onClose(() => r()));
    await gone;
    expect(cnx.isReady).toBe(false);
  });

  it('answers AUTH_CHALLENGE with a freshly fetched token', async () => {
    let n = 0;
    const p = await peer((cmd, reply) => {
      if (cmd.type === CommandTypes.CONNECT) {
        setTimeout(
          () =>
            reply({
              type: CommandTypes.AUTH_CHALLENGE,
              authChallenge: { challenge: { authMethodName: 'token' } },
            }),
          5,
        );
      }
    });
    const cnx = await ClientConnection.open(
      options(p.port, { authentication: { token: () => `jwt-${++n}` } }),
    );
    const deadline = Date.now() + 5000;
    while (!p.received.some((c) => c.type === CommandTypes.AUTH_RESPONSE) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    const resp = p.received.find((c) => c.type === CommandTypes.AUTH_RESPONSE)!.authResponse!;
    expect(Buffer.from(resp.response!.authData).toString()).toBe('jwt-2');
    cnx.close();
  });
});

describe('LookupService', () => {
  it('follows redirects with the authoritative flag and connects where the answer says', async () => {
    const owner = await peer((cmd, reply) => {
      if (cmd.type === CommandTypes.LOOKUP) {
        reply({
          type: CommandTypes.LOOKUP_RESPONSE,
          lookupTopicResponse: {
            requestId: cmd.lookupTopic!.requestId,
            response: LookupType.Connect,
            brokerServiceUrl: `pulsar://127.0.0.1:${owner.port}`,
            authoritative: true,
          },
        });
      }
    });
    const front = await peer((cmd, reply) => {
      if (cmd.type === CommandTypes.LOOKUP) {
        reply({
          type: CommandTypes.LOOKUP_RESPONSE,
          lookupTopicResponse: {
            requestId: cmd.lookupTopic!.requestId,
            response: LookupType.Redirect,
            brokerServiceUrl: `pulsar://127.0.0.1:${owner.port}`,
            authoritative: true,
          },
        });
      }
    });
    const opts = resolveClientOptions({ serviceUrl: `pulsar://127.0.0.1:${front.port}` });
    const pool = new ConnectionPool(opts, silentLogger());
    const lookup = new LookupService(pool, [`127.0.0.1:${front.port}`], 5);
    const where = await lookup.lookup('persistent://public/default/t');
    expect(where).toEqual({
      logicalAddress: `127.0.0.1:${owner.port}`,
      physicalAddress: `127.0.0.1:${owner.port}`,
    });
    const asked = owner.received.find((c) => c.type === CommandTypes.LOOKUP)!.lookupTopic!;
    expect(asked.authoritative).toBe(true);
    expect(front.received.find((c) => c.type === CommandTypes.LOOKUP)!.lookupTopic!.authoritative).toBe(
      false,
    );
    // one connection per broker, shared
    expect(pool.size).toBe(2);
    await pool.closeAll();
  });

  it('gives up after maxLookupRedirects and reports Failed answers with their code', async () => {
    const loop = await peer((cmd, reply) => {
      if (cmd.type !== CommandTypes.LOOKUP) return;
      const failed = cmd.lookupTopic!.topic.endsWith('fail');
      reply({
        type: CommandTypes.LOOKUP_RESPONSE,
        lookupTopicResponse: failed
          ? {
              requestId: cmd.lookupTopic!.requestId,
              response: LookupType.Failed,
              error: ServerError.ServiceNotReady,
              message: 'loading',
            }
          : {
              requestId: cmd.lookupTopic!.requestId,
              response: LookupType.Redirect,
              brokerServiceUrl: `pulsar://127.0.0.1:${loop.port}`,
            },
      });
    });
    const opts = resolveClientOptions({ serviceUrl: `pulsar://127.0.0.1:${loop.port}` });
    const pool = new ConnectionPool(opts, silentLogger());
    const lookup = new LookupService(pool, [`127.0.0.1:${loop.port}`], 3);
    await expect(lookup.lookup('persistent://public/default/t')).rejects.toMatchObject({
      code: 'TOO_MANY_REDIRECTS',
    });
    expect(loop.received.filter((c) => c.type === CommandTypes.LOOKUP)).toHaveLength(4);
    await expect(lookup.lookup('persistent://public/default/fail')).rejects.toMatchObject({
      code: 'SERVICE_NOT_READY',
      retry: 'retryable',
    });
    await pool.closeAll();
  });
});
