/**
 * The admin API while etcd does not answer (a private etcd, SIGSTOPped): requests end with a coded
 * 503/504 within the metadata store's bounded deadline — never a hang, never a 500 — and the API
 * works again once etcd is back.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationService } from '../../lib/auth/authenticate.ts';
import { AuthorizationService } from '../../lib/auth/authorize.ts';
import { defaultAuthConfig } from '../../lib/auth/config.ts';
import { silentLogger } from '../../lib/log/index.ts';
import { type EtcdMetadataStore, openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import { builtinPolicyDefaults } from '../../lib/policies/defaults.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import { createAdminServer } from '../../services/broker/admin/server.ts';
import { type EtcdInstance, startLocalEtcd } from '../harness/index.ts';

let etcd: EtcdInstance;
let store: EtcdMetadataStore;
let policies: PolicyStore;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  etcd = await startLocalEtcd();
  store = await openEtcdStore({
    hosts: [etcd.endpoint],
    rootPrefix: '/admin-unavailable',
    logger: silentLogger(),
    limits: { opAttemptTimeoutMs: 300, opDeadlineMs: 1500, retryMaxAttempts: 3 },
  });
  policies = new PolicyStore(store, { cluster: 'c1', defaults: builtinPolicyDefaults() });
  await policies.start();
  const auth = defaultAuthConfig();
  app = await createAdminServer({
    policies,
    authn: new AuthenticationService(auth),
    authz: new AuthorizationService(auth, policies),
    identity: {
      brokerId: 'b1',
      webServiceUrl: 'http://127.0.0.1:8080',
      brokerServiceUrl: 'pulsar://127.0.0.1:6650',
    },
    limits: { maxBodyBytes: 65_536, maxPeekPosition: 10 },
    log: silentLogger(),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  etcd?.resume?.();
  await app?.close();
  await policies?.close().catch(() => undefined);
  await store?.close().catch(() => undefined);
  await etcd?.stop();
});

describe('metadata store unavailable', () => {
  it('answers 503/504 with a reason while etcd is stopped, and recovers', async () => {
    expect(
      (
        await fetch(`${url}/admin/v2/clusters/c1`, {
          method: 'PUT',
          body: '{}',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(204);
    etcd.pause?.();
    try {
      for (const [method, path] of [
        ['GET', '/admin/v2/tenants'],
        ['PUT', '/admin/v2/tenants/t1'],
      ] as const) {
        const res = await fetch(`${url}${path}`, {
          method,
          body: method === 'PUT' ? JSON.stringify({ allowedClusters: ['c1'] }) : undefined,
          headers: { 'content-type': 'application/json' },
          signal: AbortSignal.timeout(30_000),
        });
        expect([503, 504], `${method} ${path}`).toContain(res.status);
        const body = (await res.json()) as { reason: string };
        expect(body.reason).toMatch(/metadata/);
      }
    } finally {
      etcd.resume?.();
    }
    // Back: the API answers again (a PUT whose outcome was unknown may have landed: 204 or 409).
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await fetch(`${url}/admin/v2/tenants`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    const put = await fetch(`${url}/admin/v2/tenants/t1`, {
      method: 'PUT',
      body: JSON.stringify({ allowedClusters: ['c1'] }),
      headers: { 'content-type': 'application/json' },
    });
    expect([204, 409]).toContain(put.status);
  });
});
