import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTopicName } from '../../lib/policies/names.ts';
import { type AdminHarness, seed, startAdmin } from './helpers.ts';

let h: AdminHarness;
const P = '/admin/v2/persistent/acme/ns';
beforeAll(async () => {
  h = await startAdmin({
    defaults: { maxNumPartitionsPerPartitionedTopic: 16, ttlDurationDefaultInSeconds: 11 },
  });
  await seed(h, 'acme', ['ns']);
});
afterAll(async () => {
  await h?.close();
});

describe('partitioned topics', { concurrent: false }, () => {
  it('create, metadata, increase only, list, delete', async () => {
    expect((await h.call('PUT', `${P}/orders/partitions`, 3)).status).toBe(204);
    expect((await h.call('PUT', `${P}/orders/partitions`, 3)).status).toBe(409);
    expect((await h.call('GET', `${P}/orders/partitions`)).body).toEqual({ partitions: 3 });
    expect((await h.call('GET', `${P}/unknown/partitions`)).body).toEqual({ partitions: 0 });
    expect((await h.call('POST', `${P}/orders/partitions`, 2)).status).toBe(406);
    expect((await h.call('POST', `${P}/orders/partitions`, 5)).status).toBe(204);
    expect((await h.call('GET', `${P}/orders/partitions`)).body).toEqual({ partitions: 5 });
    expect((await h.call('GET', `${P}/partitioned`)).body).toEqual(['persistent://acme/ns/orders']);
    const list = (await h.call('GET', P)).body as string[];
    expect(list).toHaveLength(5);
    expect(list[0]).toBe('persistent://acme/ns/orders-partition-0');
    expect((await h.call('GET', '/admin/v2/namespaces/acme/ns/topics')).body).toEqual(list);
    expect((await h.call('GET', '/admin/v2/non-persistent/acme/ns/partitioned')).body).toEqual([]);
    // The namespace cannot be deleted while it holds topics.
    expect((await h.call('DELETE', '/admin/v2/namespaces/acme/ns')).status).toBe(409);
    expect((await h.call('GET', '/admin/v2/namespaces/acme/ns')).status).toBe(200);
    expect((await h.call('DELETE', `${P}/orders/partitions`)).status).toBe(204);
    expect((await h.call('DELETE', `${P}/orders/partitions`)).status).toBe(404);
    expect((await h.call('POST', `${P}/orders/partitions`, 9)).status).toBe(404);
  });

  it('refuses bad counts (406), bad bodies (400), bad names (412), missing namespaces (404)', async () => {
    expect((await h.call('PUT', `${P}/t0/partitions`, 0)).status).toBe(406);
    expect((await h.call('PUT', `${P}/t0/partitions`, 17)).status).toBe(406);
    expect((await h.call('PUT', `${P}/t0/partitions`, 'three')).status).toBe(400);
    expect((await h.call('PUT', `${P}/t0/partitions`)).status).toBe(400);
    expect((await h.call('PUT', `${P}/t0-partition-1/partitions`, 2)).status).toBe(412);
    expect((await h.call('PUT', '/admin/v2/persistent/acme/ghost/t0/partitions', 2)).status).toBe(404);
    expect((await h.call('PUT', '/admin/v2/persistent/bad!t/ns/t0/partitions', 2)).status).toBe(412);
  });

  it('forced namespace delete removes partitioned metadata and topic policies', async () => {
    await h.call('PUT', '/admin/v2/namespaces/acme/gone');
    await h.call('PUT', '/admin/v2/persistent/acme/gone/a/partitions', 2);
    await h.call('POST', '/admin/v2/persistent/acme/gone/a/messageTTL', 5);
    expect((await h.call('DELETE', '/admin/v2/namespaces/acme/gone?force=true')).status).toBe(204);
    expect((await h.call('GET', '/admin/v2/namespaces/acme/gone')).status).toBe(404);
    expect(await h.store.listAll('/global/partitioned-topics/acme/gone/')).toEqual([]);
    expect(await h.store.listAll('/global/topic-policies/acme/gone/')).toEqual([]);
  });
});

describe('topic-level policies and resolution', { concurrent: false }, () => {
  it('topic overrides namespace overrides broker default; applied=true resolves', async () => {
    const T = `${P}/tp`;
    expect((await h.call('GET', `${T}/messageTTL?applied=true`)).body).toBe(11);
    await h.call('POST', '/admin/v2/namespaces/acme/ns/messageTTL', 22);
    expect((await h.call('GET', `${T}/messageTTL?applied=true`)).body).toBe(22);
    expect((await h.call('GET', `${T}/messageTTL`)).status).toBe(204);
    expect((await h.call('POST', `${T}/messageTTL?messageTTL=33`)).status).toBe(204);
    expect((await h.call('GET', `${T}/messageTTL`)).body).toBe(33);
    expect((await h.call('GET', `${T}/messageTTL?applied=true`)).body).toBe(33);
    const e = await h.policies.effectivePolicies(parseTopicName('persistent://acme/ns/tp'));
    expect(e.messageTtlSeconds).toBe(33);
    expect((await h.call('DELETE', `${T}/messageTTL`)).status).toBe(204);
    expect((await h.call('GET', `${T}/messageTTL?applied=true`)).body).toBe(22);
    expect((await h.call('POST', `${T}/deduplicationEnabled`, true)).status).toBe(204);
    expect((await h.call('GET', `${T}/deduplicationEnabled?applied=true`)).body).toBe(true);
    expect(
      (await h.call('POST', `${T}/backlogQuota`, { limitSize: 1000, policy: 'producer_exception' })).status,
    ).toBe(204);
    expect((await h.call('GET', `${T}/backlogQuotaMap?applied=true`)).body).toEqual({
      destination_storage: { limitSize: 1000, limitTime: -1, policy: 'producer_exception' },
    });
    expect((await h.call('POST', `${T}/retention`, { retentionTimeInMinutes: 'x' })).status).toBe(400);
    expect((await h.call('POST', '/admin/v2/persistent/acme/ghost/tp/messageTTL', 5)).status).toBe(404);
  });

  it('partitions inherit their parent topic policies', async () => {
    await h.call('POST', `${P}/par/maxProducers`, 4);
    const e = await h.policies.effectivePolicies(
      parseTopicName('persistent://acme/ns/par-partition-2'),
      parseTopicName('persistent://acme/ns/par'),
    );
    expect(e.maxProducersPerTopic).toBe(4);
  });
});

describe('topic permissions, lookup, brokers', { concurrent: false }, () => {
  it('grants on a topic and refuses revoking a namespace-only grant (412)', async () => {
    await h.call('POST', '/admin/v2/namespaces/acme/ns/permissions/nsrole', ['consume']);
    expect((await h.call('POST', `${P}/perm/permissions/writer`, ['produce'])).status).toBe(204);
    expect((await h.call('GET', `${P}/perm/permissions`)).body).toEqual({
      nsrole: ['consume'],
      writer: ['produce'],
    });
    expect((await h.call('DELETE', `${P}/perm/permissions/nsrole`)).status).toBe(412);
    expect((await h.call('DELETE', `${P}/perm/permissions/writer`)).status).toBe(204);
    expect((await h.call('DELETE', `${P}/perm/permissions/writer`)).status).toBe(404);
  });

  it('lookup answers this broker; unknown namespaces are 404', async () => {
    const r = await h.call('GET', '/lookup/v2/topic/persistent/acme/ns/x');
    expect(r.body).toEqual({
      brokerUrl: 'pulsar://127.0.0.1:6650',
      httpUrl: 'http://127.0.0.1:8080',
      nativeUrl: 'pulsar://127.0.0.1:6650',
    });
    expect((await h.call('GET', '/lookup/v2/topic/persistent/acme/ghost/x')).status).toBe(404);
    expect((await h.call('GET', '/lookup/v2/topic/bogus/acme/ns/x')).status).toBe(404);
  });

  it('brokers: list, leader, owned namespaces, health, ready', async () => {
    expect((await h.call('GET', '/admin/v2/brokers')).body).toEqual(['127.0.0.1:8080']);
    expect((await h.call('GET', '/admin/v2/brokers/test-cluster')).body).toEqual(['127.0.0.1:8080']);
    expect((await h.call('GET', '/admin/v2/brokers/ghost')).status).toBe(404);
    expect((await h.call('GET', '/admin/v2/brokers/leaderBroker')).body).toEqual({
      serviceUrl: 'http://127.0.0.1:8080',
      brokerId: '127.0.0.1:8080',
    });
    const owned = (await h.call('GET', '/admin/v2/brokers/test-cluster/127.0.0.1:8080/ownedNamespaces'))
      .body as object;
    expect(Object.keys(owned)).toContain('acme/ns/0x00000000_0x40000000');
    expect((await h.call('GET', '/admin/v2/brokers/health')).text).toBe('ok');
    expect((await h.call('GET', '/admin/v2/brokers/ready')).text).toBe('ok');
  });

  it('data-path topic operations answer 503 when no broker data path is attached', async () => {
    const r = await h.call('PUT', `${P}/plain`);
    expect(r.status).toBe(503);
    expect(r.headers.get('x-magnetar-error-code')).toBe('TOPIC_SERVICE_UNAVAILABLE');
    expect((await h.call('GET', `${P}/plain/stats`)).status).toBe(503);
    expect((await h.call('PUT', `${P}/plain/subscription/s1`)).status).toBe(503);
  });
});

describe('ownership redirects', { concurrent: false }, () => {
  it('answers 307 to the owner for topic operations', async () => {
    const other = await startAdmin({
      deps: {
        ownership: {
          ownerOf: async () => ({ local: false, httpUrl: 'http://127.0.0.2:8080' }),
          lookup: async () => ({
            brokerUrl: 'pulsar://127.0.0.2:6650',
            httpUrl: 'http://127.0.0.2:8080',
            nativeUrl: 'pulsar://127.0.0.2:6650',
          }),
        },
      },
    });
    try {
      await seed(other, 'acme', ['ns']);
      const r = await other.call('GET', `${P}/owned/stats?x=1`);
      expect(r.status).toBe(307);
      expect(r.headers.get('location')).toBe(
        'http://127.0.0.2:8080/admin/v2/persistent/acme/ns/owned/stats?x=1&authoritative=true',
      );
      expect((await other.call('GET', '/lookup/v2/topic/persistent/acme/ns/owned')).body).toMatchObject({
        brokerUrl: 'pulsar://127.0.0.2:6650',
      });
    } finally {
      await other.close();
    }
  });
});
