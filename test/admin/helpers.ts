/**
 * An admin server over a real etcd (unique root prefix), started in-process, and a small HTTP
 * client for the tests. `restart()` builds a fresh PolicyStore + server over the same prefix
 * (persistence across server restarts).
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { AuthenticationService } from '../../lib/auth/authenticate.ts';
import { AuthorizationService } from '../../lib/auth/authorize.ts';
import { type AuthConfig, defaultAuthConfig } from '../../lib/auth/config.ts';
import { loadSecretKey } from '../../lib/auth/keys.ts';
import { createToken } from '../../lib/auth/tokens.ts';
import { silentLogger } from '../../lib/log/index.ts';
import { type EtcdMetadataStore, openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import { builtinPolicyDefaults, type PolicyDefaults } from '../../lib/policies/defaults.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import type { AdminDeps } from '../../services/broker/admin/deps.ts';
import { createAdminServer } from '../../services/broker/admin/server.ts';
import { uniquePrefix } from '../harness/index.ts';

export interface Reply {
  status: number;
  body: unknown;
  text: string;
  headers: Headers;
}

export interface AdminHarness {
  url: string;
  store: EtcdMetadataStore;
  policies: PolicyStore;
  secret: string;
  /** Call the API; `token` is sent as a Bearer token. */
  call(
    method: string,
    path: string,
    body?: unknown,
    opts?: { token?: string; raw?: string; contentType?: string },
  ): Promise<Reply>;
  token(role: string): Promise<string>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  auth?: Partial<AuthConfig>;
  defaults?: Partial<PolicyDefaults>;
  deps?: Partial<AdminDeps>;
  cluster?: string;
  maxBodyBytes?: number;
}

export async function startAdmin(opts: HarnessOptions = {}): Promise<AdminHarness> {
  const rootPrefix = uniquePrefix('admin');
  const secretBytes = randomBytes(32);
  const secret = `data:;base64,${secretBytes.toString('base64')}`;
  const authConfig = defaultAuthConfig({ tokenSecretKey: secret, ...opts.auth });
  const cluster = opts.cluster ?? 'test-cluster';
  const key = loadSecretKey(secret);
  let store: EtcdMetadataStore;
  let policies: PolicyStore;
  let app: FastifyInstance;
  let url = '';

  async function open(): Promise<void> {
    store = await openEtcdStore({ hosts: [inject('etcdEndpoint')], rootPrefix, logger: silentLogger() });
    policies = new PolicyStore(store, {
      cluster,
      defaults: { ...builtinPolicyDefaults(), ...opts.defaults },
    });
    await policies.start();
    app = await createAdminServer({
      policies,
      authn: new AuthenticationService(authConfig),
      authz: new AuthorizationService(authConfig, policies),
      identity: {
        brokerId: '127.0.0.1:8080',
        webServiceUrl: 'http://127.0.0.1:8080',
        brokerServiceUrl: 'pulsar://127.0.0.1:6650',
      },
      limits: { maxBodyBytes: opts.maxBodyBytes ?? 65_536, maxPeekPosition: 1000 },
      log: silentLogger(),
      ...opts.deps,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }

  async function shut(): Promise<void> {
    await app.close();
    await policies.close();
    await store.close();
  }

  await open();
  return {
    get url() {
      return url;
    },
    get store() {
      return store;
    },
    get policies() {
      return policies;
    },
    secret,
    async call(method, path, body, o = {}) {
      const headers: Record<string, string> = {};
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let payload: string | undefined;
      if (o.raw !== undefined) payload = o.raw;
      else if (body !== undefined) payload = JSON.stringify(body);
      if (payload !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
      const res = await fetch(`${url}${path}`, { method, headers, body: payload, redirect: 'manual' });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        /* plain text */
      }
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
    token: (role) => createToken({ subject: role, key }),
    async restart() {
      await shut();
      await open();
    },
    async close() {
      await store.deletePrefix('/');
      await shut();
    },
  };
}

/** Create cluster, tenant and namespace in one go (superuser token when auth is on). */
export async function seed(h: AdminHarness, tenant: string, ns: string[], token?: string): Promise<void> {
  const ok = (r: Reply) => {
    if (r.status >= 300 && r.status !== 409) throw new Error(`seed failed: ${r.status} ${r.text}`);
  };
  ok(
    await h.call(
      'PUT',
      '/admin/v2/clusters/test-cluster',
      { serviceUrl: 'http://127.0.0.1:8080' },
      { token },
    ),
  );
  ok(
    await h.call(
      'PUT',
      `/admin/v2/tenants/${tenant}`,
      { adminRoles: [], allowedClusters: ['test-cluster'] },
      { token },
    ),
  );
  for (const n of ns) ok(await h.call('PUT', `/admin/v2/namespaces/${tenant}/${n}`, undefined, { token }));
}
