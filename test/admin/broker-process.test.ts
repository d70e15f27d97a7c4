/**
 * A real broker process (services/broker/main.ts) with JWT authentication and authorization on,
 * over the shared etcd: the admin API refuses anonymous and unauthorized callers, a superuser and
 * a tenant admin manage what they may, policies survive a broker restart, and the binary protocol
 * authenticates CONNECT with a token (a bad token gets an AuthenticationError and a closed socket).
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadSecretKey } from '../../lib/auth/keys.ts';
import { createToken } from '../../lib/auth/tokens.ts';
import { BaseCommand_Type } from '../../lib/gen/pulsar/PulsarApi_pb.ts';
import { silentLogger } from '../../lib/log/index.ts';
import { openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import { decodeCommand, encodeCommand, isCommandProblem } from '../../lib/wire/commands.ts';
import { FrameDecoder } from '../../lib/wire/frame.ts';
import { freePorts, type ServiceProcess, spawnProcess, stopAll, uniquePrefix } from '../harness/index.ts';

const secret = `data:;base64,${randomBytes(32).toString('base64')}`;
const key = loadSecretKey(secret);
const prefix = uniquePrefix('bproc');
let ports: number[];
let broker: ServiceProcess;
let web: string;
const tokens: Record<string, string> = {};

async function start(): Promise<void> {
  broker = spawnProcess({
    name: 'broker',
    args: [
      'services/broker/main.ts',
      '--metadata-url',
      `etcd://${inject('etcdEndpoint')}${prefix}`,
      '--bind-address',
      '127.0.0.1',
      '--advertised-address',
      '127.0.0.1',
      '--broker-service-port',
      String(ports[0]),
      '--web-service-port',
      String(ports[1]),
      '--cluster-name',
      'test-cluster',
      '--authentication-enabled',
      'true',
      '--authorization-enabled',
      'true',
      '--super-user-roles',
      'root',
      '--token-secret-key',
      secret,
    ],
  });
  await broker.waitForOutput(/broker ready/, 60_000);
}

async function call(method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${web}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* plain text (e.g. "ok") */
  }
  return { status: res.status, text, body: parsed };
}

/** CONNECT with a token; returns the first command type the broker answers with. */
function connectWith(token: string): Promise<{ type: number; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(ports[0], '127.0.0.1');
    const decoder = new FrameDecoder(1 << 20);
    let answer: number | undefined;
    const timer = setTimeout(() => socket.destroy(new Error('no answer to CONNECT')), 20_000);
    socket.on('connect', () =>
      socket.write(
        encodeCommand({
          type: BaseCommand_Type.CONNECT,
          connect: {
            clientVersion: 'admin-test',
            protocolVersion: 17,
            authMethodName: 'token',
            authData: Buffer.from(token),
          },
        }),
      ),
    );
    socket.on('data', (chunk) => {
      decoder.push(chunk);
      const frame = decoder.next();
      if (!frame || 'kind' in frame) return;
      const cmd = decodeCommand(frame.command);
      if (isCommandProblem(cmd)) return reject(new Error(cmd.detail));
      answer = cmd.type;
      if (cmd.type === BaseCommand_Type.CONNECTED) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ type: cmd.type, closed: false });
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (answer !== BaseCommand_Type.CONNECTED) resolve({ type: answer ?? -1, closed: true });
    });
    socket.on('error', () => undefined);
  });
}

beforeAll(async () => {
  ports = await freePorts(2);
  web = `http://127.0.0.1:${ports[1]}`;
  for (const r of ['root', 'ops', 'app', 'nobody']) tokens[r] = await createToken({ subject: r, key });
  await start();
});
afterAll(async () => {
  await stopAll();
  const store = await openEtcdStore({
    hosts: [inject('etcdEndpoint')],
    rootPrefix: prefix,
    logger: silentLogger(),
  });
  await store.deletePrefix('/');
  await store.close();
});

describe('admin API in a broker process with authentication', { concurrent: false }, () => {
  it('refuses anonymous and unauthorized callers; superuser and tenant admin work', async () => {
    expect((await call('GET', '/admin/v2/clusters')).status).toBe(401);
    expect((await call('GET', '/admin/v2/brokers/ready')).status).toBe(200);
    expect((await call('PUT', '/admin/v2/clusters/test-cluster', {}, tokens.ops)).status).toBe(403);
    expect((await call('PUT', '/admin/v2/clusters/test-cluster', {}, tokens.root)).status).toBe(204);
    expect(
      (
        await call(
          'PUT',
          '/admin/v2/tenants/acme',
          { adminRoles: ['ops'], allowedClusters: ['test-cluster'] },
          tokens.root,
        )
      ).status,
    ).toBe(204);
    expect((await call('PUT', '/admin/v2/namespaces/acme/ns', undefined, tokens.ops)).status).toBe(204);
    expect(
      (await call('POST', '/admin/v2/namespaces/acme/ns/permissions/app', ['produce'], tokens.ops)).status,
    ).toBe(204);
    expect((await call('POST', '/admin/v2/namespaces/acme/ns/messageTTL', 321, tokens.ops)).status).toBe(204);
    expect((await call('GET', '/admin/v2/namespaces/acme/ns/messageTTL', undefined, tokens.app)).status).toBe(
      403,
    );
    expect((await call('GET', '/lookup/v2/topic/persistent/acme/ns/t', undefined, tokens.app)).status).toBe(
      200,
    );
    expect(
      (await call('GET', '/lookup/v2/topic/persistent/acme/ns/t', undefined, tokens.nobody)).status,
    ).toBe(403);
  });

  it('authenticates CONNECT with a token on the binary protocol', async () => {
    expect(await connectWith(tokens.app)).toEqual({ type: BaseCommand_Type.CONNECTED, closed: false });
    const bad = await connectWith(`${tokens.app}x`);
    expect(bad.closed).toBe(true);
    expect(bad.type).toBe(BaseCommand_Type.ERROR);
  });

  it('keeps policies across a broker restart', async () => {
    await broker.kill('SIGTERM');
    await broker.exited;
    await start();
    expect((await call('GET', '/admin/v2/namespaces/acme/ns/messageTTL', undefined, tokens.ops)).body).toBe(
      321,
    );
    expect(
      (await call('GET', '/admin/v2/namespaces/acme/ns/permissions', undefined, tokens.root)).body,
    ).toEqual({ app: ['produce'] });
  });
});
