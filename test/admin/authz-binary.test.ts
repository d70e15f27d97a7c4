/**
 * The binary half of the authorization matrix, on a real broker process (services/broker/main.ts)
 * with JWT authentication and authorization on, real etcd and a real bookie: every role against
 * PRODUCER, SUBSCRIBE (including a subscription restricted to other roles), LOOKUP,
 * PARTITIONED_METADATA and GET_TOPICS_OF_NAMESPACE, with the HTTP counterparts checked for the
 * same roles, so no role reaches on either protocol what it was not granted. Then token expiry:
 * a client that cannot refresh is disconnected, one that can is challenged and keeps its
 * connection with a fresh token of the same role (and loses it with another role or no answer,
 * being refused commands meanwhile). Last, the namespace policies survive a broker restart and
 * are still enforced by the new process.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadSecretKey } from '../../lib/auth/keys.ts';
import { createToken } from '../../lib/auth/tokens.ts';
import { ServerError } from '../../lib/wire/protocol.ts';
import {
  type BrokerProcess,
  spawnBroker,
  startStorageCluster,
  type StorageCluster,
} from '../broker/cluster.ts';
import { T, WireClient } from '../broker/wire-client.ts';
import { stopAll } from '../harness/index.ts';

const secret = `data:;base64,${randomBytes(32).toString('base64')}`;
const key = loadSecretKey(secret);
const ROLES = ['root', 'tadmin', 'producer', 'consumer', 'topicwriter', 'stranger'] as const;
type Role = (typeof ROLES)[number];
const tokens = {} as Record<Role, string>;
const AUTH_FLAGS = {
  authenticationEnabled: true,
  authorizationEnabled: true,
  superUserRoles: 'root',
  tokenSecretKey: secret,
  authenticationRefreshCheckSeconds: 1,
};

let sc: StorageCluster;
let broker: BrokerProcess;

async function call(method: string, path: string, body?: unknown, role?: Role) {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (role) headers.authorization = `Bearer ${tokens[role]}`;
  const res = await fetch(`http://127.0.0.1:${broker.webPort}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

async function ok(p: Promise<{ status: number; text: string }>): Promise<void> {
  const r = await p;
  if (r.status >= 300) throw new Error(`setup: ${r.status} ${r.text}`);
}

beforeAll(async () => {
  for (const r of ROLES) tokens[r] = await createToken({ subject: r, key });
  sc = await startStorageCluster(inject('etcdEndpoint'), 1, 1);
  broker = await spawnBroker(sc, 'authz-broker', AUTH_FLAGS);
  const cluster = sc.rc.cluster;
  await ok(
    call('PUT', '/admin/v2/tenants/acme', { adminRoles: ['tadmin'], allowedClusters: [cluster] }, 'root'),
  );
  await ok(call('PUT', '/admin/v2/namespaces/acme/ns', undefined, 'root'));
  await ok(call('POST', '/admin/v2/namespaces/acme/ns/permissions/producer', ['produce'], 'root'));
  await ok(call('POST', '/admin/v2/namespaces/acme/ns/permissions/consumer', ['consume'], 'root'));
  await ok(call('POST', '/admin/v2/persistent/acme/ns/t1/permissions/topicwriter', ['produce'], 'root'));
  await ok(call('POST', '/admin/v2/namespaces/acme/ns/permissions/subscription/private', ['tadmin'], 'root'));
  // The superuser looks the topics up once, so this broker owns their bundle.
  const c = await WireClient.open(broker.port, { token: tokens.root });
  for (const t of ['t1', 't2']) await c.lookupUntil(`persistent://acme/ns/${t}`, broker.url);
  c.close();
}, 120_000);
afterAll(async () => {
  await stopAll();
  await sc?.stop();
});

const T1 = 'persistent://acme/ns/t1';
const T2 = 'persistent://acme/ns/t2';

type Op = { name: string; allowed: readonly Role[]; run(c: WireClient, id: bigint): Promise<number | 'ok'> };

const codeOf = (r: { type: number; error?: { error: number } }, success: number) =>
  r.type === success ? ('ok' as const) : (r.error?.error ?? -1);

const BINARY: Op[] = [
  {
    name: 'PRODUCER t1',
    allowed: ['root', 'tadmin', 'producer', 'topicwriter'],
    run: async (c, id) => codeOf(await c.createProducer(T1, id), T.PRODUCER_SUCCESS),
  },
  {
    name: 'PRODUCER t2',
    allowed: ['root', 'tadmin', 'producer'],
    run: async (c, id) => codeOf(await c.createProducer(T2, id), T.PRODUCER_SUCCESS),
  },
  {
    name: 'SUBSCRIBE t2 / pub',
    allowed: ['root', 'tadmin', 'consumer'],
    run: async (c, id) => codeOf(await c.subscribe(T2, 'pub', id, 1), T.SUCCESS),
  },
  {
    name: 'SUBSCRIBE t2 / private (roles: tadmin)',
    allowed: ['root', 'tadmin'],
    run: async (c, id) => codeOf(await c.subscribe(T2, 'private', id, 1), T.SUCCESS),
  },
  {
    name: 'LOOKUP t1',
    allowed: ['root', 'tadmin', 'producer', 'consumer', 'topicwriter'],
    run: async (c) => {
      const r = await c.lookup(T1);
      return r.response === 'failed' ? r.error : 'ok';
    },
  },
  {
    name: 'LOOKUP t2',
    allowed: ['root', 'tadmin', 'producer', 'consumer'],
    run: async (c) => {
      const r = await c.lookup(T2);
      return r.response === 'failed' ? r.error : 'ok';
    },
  },
  {
    name: 'PARTITIONED_METADATA t2',
    allowed: ['root', 'tadmin', 'producer', 'consumer'],
    run: async (c) => {
      const requestId = c.requestId();
      const r = await c.request(
        { type: T.PARTITIONED_METADATA, partitionMetadata: { topic: T2, requestId } },
        requestId,
      );
      const m = r.partitionMetadataResponse!;
      return m.response === 0 ? 'ok' : m.error;
    },
  },
  {
    name: 'GET_TOPICS_OF_NAMESPACE acme/ns',
    allowed: ['root', 'tadmin', 'producer', 'consumer'],
    run: async (c) => {
      const requestId = c.requestId();
      const r = await c.request(
        { type: T.GET_TOPICS_OF_NAMESPACE, getTopicsOfNamespace: { namespace: 'acme/ns', requestId } },
        requestId,
      );
      return codeOf(r, T.GET_TOPICS_OF_NAMESPACE_RESPONSE);
    },
  },
];

/** HTTP counterparts: [method, path, body, roles allowed]. */
const HTTP: [string, string, unknown, readonly Role[]][] = [
  [
    'GET',
    '/lookup/v2/topic/persistent/acme/ns/t1',
    undefined,
    ['root', 'tadmin', 'producer', 'consumer', 'topicwriter'],
  ],
  ['GET', '/lookup/v2/topic/persistent/acme/ns/t2', undefined, ['root', 'tadmin', 'producer', 'consumer']],
  [
    'GET',
    '/admin/v2/persistent/acme/ns/t2/partitions',
    undefined,
    ['root', 'tadmin', 'producer', 'consumer'],
  ],
  ['PUT', '/admin/v2/persistent/acme/ns/t2/subscription/httpsub', undefined, ['root', 'tadmin', 'consumer']],
  ['GET', '/admin/v2/brokers/backlog-quota-check', undefined, ['root']],
];

describe('authorization on both protocols', { concurrent: false }, () => {
  it.each(BINARY.map((op) => [op.name, op] as const))('binary %s', async (_name, op) => {
    let id = 100n;
    for (const role of ROLES) {
      const c = await WireClient.open(broker.port, { token: tokens[role] });
      expect(c.connectAnswer?.type, `${role} connects`).toBe(T.CONNECTED);
      const got = await op.run(c, id++);
      if (op.allowed.includes(role)) expect(got, `${role} may ${op.name}`).toBe('ok');
      else expect(got, `${role} must be refused ${op.name}`).toBe(ServerError.AuthorizationError);
      c.close();
    }
  });

  it.each(HTTP)('HTTP %s %s', async (method, path, body, allowed) => {
    for (const role of ROLES) {
      const r = await call(method, path, body, role);
      // Allowed: past authentication and authorization (a 409 for an existing subscription is fine).
      if (allowed.includes(role))
        expect([401, 403], `${role} ${method} ${path}: ${r.text}`).not.toContain(r.status);
      else expect(r.status, `${role} must be refused ${method} ${path}`).toBe(403);
    }
  });

  it('a superuser forces the backlog quota check (204)', async () => {
    expect((await call('GET', '/admin/v2/brokers/backlog-quota-check', undefined, 'root')).status).toBe(204);
  });

  it('without a token nothing connects', async () => {
    const c = await WireClient.open(broker.port);
    expect(c.connectAnswer?.type).toBe(T.ERROR);
    expect(c.connectAnswer?.error?.error).toBe(ServerError.AuthenticationError);
    await c.closedPromise;
    expect((await call('GET', '/lookup/v2/topic/persistent/acme/ns/t1')).status).toBe(401);
  });
});

describe('token expiry on open connections', { concurrent: false }, () => {
  const expiring = (role: Role, seconds: number) =>
    createToken({ subject: role, key, expiresInSeconds: seconds });

  it('a client that cannot refresh is disconnected once its token expired', async () => {
    const c = await WireClient.open(broker.port, { token: await expiring('producer', 2) });
    expect(c.connectAnswer?.type).toBe(T.CONNECTED);
    expect((await c.createProducer(T1, 1n)).type).toBe(T.PRODUCER_SUCCESS);
    await c.closedPromise;
    expect(c.closed).toBe(true);
  });

  it('a client that refreshes with a token of the same role keeps its connection', async () => {
    const c = await WireClient.open(broker.port, {
      token: await expiring('consumer', 2),
      supportsAuthRefresh: true,
    });
    expect(c.connectAnswer?.type).toBe(T.CONNECTED);
    const challenge = await c.waitFor((x) => x.type === T.AUTH_CHALLENGE, 10_000);
    expect(challenge.authChallenge?.challenge?.authMethodName).toBe('token');
    c.send({
      type: T.AUTH_RESPONSE,
      authResponse: {
        clientVersion: 'wire-test',
        protocolVersion: 19,
        response: { authMethodName: 'token', authData: Buffer.from(await expiring('consumer', 120)) },
      },
    });
    // Past two more refresh checks the connection is still served.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(c.closed).toBe(false);
    expect((await c.lookup(T2)).response).not.toBe('failed');
    c.close();
  });

  it('an unanswered challenge: commands are refused meanwhile, then the connection is closed', async () => {
    const c = await WireClient.open(broker.port, {
      token: await expiring('consumer', 2),
      supportsAuthRefresh: true,
    });
    await c.waitFor((x) => x.type === T.AUTH_CHALLENGE, 10_000);
    const r = await c.lookup(T2);
    expect(r).toMatchObject({ response: 'failed', error: ServerError.AuthenticationError });
    await c.closedPromise;
  });

  it('a refresh with another role closes the connection', async () => {
    const c = await WireClient.open(broker.port, {
      token: await expiring('consumer', 2),
      supportsAuthRefresh: true,
    });
    await c.waitFor((x) => x.type === T.AUTH_CHALLENGE, 10_000);
    c.send({
      type: T.AUTH_RESPONSE,
      authResponse: { response: { authMethodName: 'token', authData: Buffer.from(tokens.root) } },
    });
    const err = await c.waitFor((x) => x.type === T.ERROR, 10_000);
    expect(err.error?.error).toBe(ServerError.AuthenticationError);
    await c.closedPromise;
  });
});

describe('policies across a broker restart', { concurrent: false }, () => {
  it('the new broker process enforces what was set through the old one', async () => {
    await ok(call('PUT', '/admin/v2/namespaces/acme/locked', undefined, 'root'));
    await ok(
      call(
        'POST',
        '/admin/v2/namespaces/acme/locked/autoTopicCreation',
        { allowAutoTopicCreation: false },
        'root',
      ),
    );
    await ok(call('POST', '/admin/v2/namespaces/acme/locked/maxProducersPerTopic', 1, 'root'));
    const owner = await WireClient.open(broker.port, { token: tokens.root });
    await owner.lookupUntil('persistent://acme/locked/made', broker.url);
    owner.close();
    await ok(call('PUT', '/admin/v2/persistent/acme/locked/made', undefined, 'root'));
    const check = async () => {
      const c = await WireClient.open(broker.port, { token: tokens.root });
      await c.lookupUntil('persistent://acme/locked/made', broker.url);
      expect((await c.createProducer('persistent://acme/locked/missing', 1n)).error?.error).toBe(
        ServerError.TopicNotFound,
      );
      expect((await c.createProducer('persistent://acme/locked/made', 2n)).type).toBe(T.PRODUCER_SUCCESS);
      expect((await c.createProducer('persistent://acme/locked/made', 3n)).error?.error).toBe(
        ServerError.ProducerBusy,
      );
      c.close();
      // Grants too: a stranger is still refused, the granted role still allowed.
      const s = await WireClient.open(broker.port, { token: tokens.stranger });
      expect((await s.lookup(T1)).error).toBe(ServerError.AuthorizationError);
      s.close();
      const p = await WireClient.open(broker.port, { token: tokens.producer });
      expect((await p.lookup(T1)).response).not.toBe('failed');
      p.close();
    };
    await check();
    await broker.proc.kill('SIGTERM');
    await broker.proc.exited;
    broker = await spawnBroker(sc, 'authz-broker-2', AUTH_FLAGS);
    await check();
  });
});
