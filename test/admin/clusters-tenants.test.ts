import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminHarness, startAdmin } from './helpers.ts';

let h: AdminHarness;
beforeAll(async () => {
  h = await startAdmin();
});
afterAll(async () => {
  await h?.close();
});

describe('clusters', { concurrent: false }, () => {
  it('create, get, list, update, delete', async () => {
    expect((await h.call('GET', '/admin/v2/clusters')).body).toEqual([]);
    const data = { serviceUrl: 'http://a:8080', brokerServiceUrl: 'pulsar://a:6650' };
    expect((await h.call('PUT', '/admin/v2/clusters/c1', data)).status).toBe(204);
    expect((await h.call('GET', '/admin/v2/clusters/c1')).body).toEqual(data);
    expect((await h.call('GET', '/admin/v2/clusters')).body).toEqual(['c1']);
    expect((await h.call('POST', '/admin/v2/clusters/c1', { serviceUrl: 'http://b:8080' })).status).toBe(204);
    expect((await h.call('GET', '/admin/v2/clusters/c1')).body).toEqual({ serviceUrl: 'http://b:8080' });
    expect((await h.call('DELETE', '/admin/v2/clusters/c1')).status).toBe(204);
    expect((await h.call('GET', '/admin/v2/clusters/c1')).status).toBe(404);
  });

  it('answers 409 / 404 / 412 / 400 with a reason', async () => {
    await h.call('PUT', '/admin/v2/clusters/c2', {});
    const dup = await h.call('PUT', '/admin/v2/clusters/c2', {});
    expect(dup.status).toBe(409);
    expect(dup.body).toEqual({ reason: 'Cluster c2 already exists' });
    expect(dup.headers.get('x-magnetar-error-code')).toBe('CLUSTER_EXISTS');
    expect((await h.call('POST', '/admin/v2/clusters/nope', {})).status).toBe(404);
    expect((await h.call('DELETE', '/admin/v2/clusters/nope')).status).toBe(404);
    expect((await h.call('PUT', '/admin/v2/clusters/bad%20name', {})).status).toBe(412);
    expect((await h.call('PUT', '/admin/v2/clusters/c3', { serviceUrl: 5 })).status).toBe(400);
    expect((await h.call('PUT', '/admin/v2/clusters/c3', [1])).status).toBe(400);
  });
});

describe('tenants', { concurrent: false }, () => {
  it('create, get, list, update, delete', async () => {
    await h.call('PUT', '/admin/v2/clusters/tc', {});
    const info = { adminRoles: ['alice'], allowedClusters: ['tc'] };
    expect((await h.call('PUT', '/admin/v2/tenants/t1', info)).status).toBe(204);
    expect((await h.call('GET', '/admin/v2/tenants/t1')).body).toEqual(info);
    expect((await h.call('GET', '/admin/v2/tenants')).body).toEqual(['t1']);
    expect(
      (await h.call('POST', '/admin/v2/tenants/t1', { adminRoles: ['bob'], allowedClusters: ['tc'] })).status,
    ).toBe(204);
    expect((await h.call('GET', '/admin/v2/tenants/t1')).body).toEqual({
      adminRoles: ['bob'],
      allowedClusters: ['tc'],
    });
    expect((await h.call('DELETE', '/admin/v2/tenants/t1')).status).toBe(204);
    expect((await h.call('GET', '/admin/v2/tenants/t1')).status).toBe(404);
  });

  it('validates: 409 exists, 412 bad name, empty or unknown clusters, 404 missing', async () => {
    await h.call('PUT', '/admin/v2/clusters/tc', {});
    const info = { adminRoles: [], allowedClusters: ['tc'] };
    expect((await h.call('PUT', '/admin/v2/tenants/t2', info)).status).toBe(204);
    expect((await h.call('PUT', '/admin/v2/tenants/t2', info)).status).toBe(409);
    expect((await h.call('PUT', '/admin/v2/tenants/bad!name', info)).status).toBe(412);
    const unknown = await h.call('PUT', '/admin/v2/tenants/t3', { allowedClusters: ['ghost'] });
    expect(unknown.status).toBe(412);
    expect((unknown.body as { reason: string }).reason).toContain('ghost');
    expect((await h.call('PUT', '/admin/v2/tenants/t3', { allowedClusters: [] })).status).toBe(412);
    expect(
      (await h.call('PUT', '/admin/v2/tenants/t3', { adminRoles: 'x', allowedClusters: ['tc'] })).status,
    ).toBe(400);
    expect((await h.call('GET', '/admin/v2/tenants/t3')).status).toBe(404);
    expect((await h.call('POST', '/admin/v2/tenants/t3', info)).status).toBe(404);
    expect((await h.call('DELETE', '/admin/v2/tenants/t3')).status).toBe(404);
  });

  it('refuses to delete a tenant with namespaces (409) and a cluster a tenant uses (412)', async () => {
    await h.call('PUT', '/admin/v2/clusters/tc', {});
    await h.call('PUT', '/admin/v2/tenants/t4', { allowedClusters: ['tc'] });
    expect((await h.call('PUT', '/admin/v2/namespaces/t4/ns1')).status).toBe(204);
    expect((await h.call('DELETE', '/admin/v2/tenants/t4')).status).toBe(409);
    expect((await h.call('DELETE', '/admin/v2/clusters/tc')).status).toBe(412);
    expect((await h.call('DELETE', '/admin/v2/namespaces/t4/ns1')).status).toBe(204);
    expect((await h.call('DELETE', '/admin/v2/tenants/t4')).status).toBe(204);
  });
});
