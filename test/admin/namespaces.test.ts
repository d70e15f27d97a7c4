import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminHarness, seed, startAdmin } from './helpers.ts';

let h: AdminHarness;
const NS = '/admin/v2/namespaces/acme';
beforeAll(async () => {
  h = await startAdmin();
  await seed(h, 'acme', []);
});
afterAll(async () => {
  await h?.close();
});

const reason = (body: unknown) => (body as { reason: string }).reason;

describe('namespace lifecycle', { concurrent: false }, () => {
  it('create, list, get, delete with the right error codes', async () => {
    expect((await h.call('PUT', `${NS}/ns1`)).status).toBe(204);
    expect((await h.call('PUT', `${NS}/ns1`)).status).toBe(409);
    expect((await h.call('PUT', '/admin/v2/namespaces/ghost/ns1')).status).toBe(404);
    expect((await h.call('PUT', `${NS}/bad%20ns`)).status).toBe(412);
    expect((await h.call('GET', NS)).body).toEqual(['acme/ns1']);
    expect((await h.call('GET', '/admin/v2/namespaces/ghost')).status).toBe(404);
    const doc = (await h.call('GET', `${NS}/ns1`)).body as Record<string, unknown>;
    expect(doc.bundles).toEqual({
      boundaries: ['0x00000000', '0x40000000', '0x80000000', '0xc0000000', '0xffffffff'],
      numBundles: 4,
    });
    expect(doc.auth_policies).toEqual({
      namespace_auth: {},
      destination_auth: {},
      subscription_auth_roles: {},
    });
    expect(doc.backlog_quota_map).toEqual({});
    expect((await h.call('DELETE', `${NS}/ns1`)).status).toBe(204);
    expect((await h.call('GET', `${NS}/ns1`)).status).toBe(404);
    expect((await h.call('DELETE', `${NS}/ns1`)).status).toBe(404);
  });

  it('create with initial policies and bundle count; a bad one writes nothing', async () => {
    const body = {
      bundles: { numBundles: 8 },
      retention_policies: { retentionTimeInMinutes: 60, retentionSizeInMB: 100 },
      message_ttl_in_seconds: 30,
      publishMaxMessageRate: {
        'test-cluster': { publishThrottlingRateInMsg: 10, publishThrottlingRateInByte: -1 },
      },
    };
    expect((await h.call('PUT', `${NS}/init`, body)).status).toBe(204);
    const doc = (await h.call('GET', `${NS}/init`)).body as Record<string, unknown>;
    expect((doc.bundles as { numBundles: number }).numBundles).toBe(8);
    expect(doc.retention_policies).toEqual({ retentionTimeInMinutes: 60, retentionSizeInMB: 100 });
    expect(doc.message_ttl_in_seconds).toBe(30);
    expect((await h.call('GET', `${NS}/init/publishRate`)).body).toEqual({
      publishThrottlingRateInMsg: 10,
      publishThrottlingRateInByte: -1,
    });
    const bad = await h.call('PUT', `${NS}/bad1`, { message_ttl_in_seconds: -5 });
    expect(bad.status).toBe(412);
    expect((await h.call('GET', `${NS}/bad1`)).status).toBe(404);
    expect((await h.call('PUT', `${NS}/bad2`, { bundles: { numBundles: 100000 } })).status).toBe(412);
    const quota = {
      backlog_quota_map: {
        destination_storage: { limitSize: 200 * 1024 * 1024, policy: 'producer_exception' },
      },
    };
    const clash = await h.call('PUT', `${NS}/bad3`, {
      ...quota,
      retention_policies: { retentionTimeInMinutes: 1, retentionSizeInMB: 1 },
    });
    expect(clash.status).toBe(412);
    expect((await h.call('GET', NS)).body).toEqual(['acme/init']);
  });
});

const POLICIES: [string, 'POST' | 'PUT', unknown, unknown][] = [
  [
    'retention',
    'POST',
    { retentionTimeInMinutes: 10, retentionSizeInMB: 20 },
    { retentionTimeInMinutes: -2 },
  ],
  ['messageTTL', 'POST', 3600, -1],
  ['deduplication', 'POST', true, 'maybe'],
  [
    'persistence',
    'POST',
    {
      bookkeeperEnsemble: 3,
      bookkeeperWriteQuorum: 2,
      bookkeeperAckQuorum: 2,
      managedLedgerMaxMarkDeleteRate: 1,
    },
    { bookkeeperEnsemble: 1, bookkeeperWriteQuorum: 2, bookkeeperAckQuorum: 2 },
  ],
  [
    'dispatchRate',
    'POST',
    {
      dispatchThrottlingRateInMsg: 100,
      dispatchThrottlingRateInByte: -1,
      ratePeriodInSecond: 1,
      relativeToPublishRate: false,
    },
    { ratePeriodInSecond: 0 },
  ],
  [
    'subscriptionDispatchRate',
    'POST',
    {
      dispatchThrottlingRateInMsg: 5,
      dispatchThrottlingRateInByte: 1000,
      ratePeriodInSecond: 2,
      relativeToPublishRate: false,
    },
    { dispatchThrottlingRateInMsg: -7 },
  ],
  [
    'publishRate',
    'POST',
    { publishThrottlingRateInMsg: 50, publishThrottlingRateInByte: 4096 },
    { publishThrottlingRateInMsg: 'x' },
  ],
  [
    'subscribeRate',
    'POST',
    { subscribeThrottlingRatePerConsumer: 3, ratePeriodInSecond: 30 },
    { ratePeriodInSecond: -1 },
  ],
  ['subscriptionExpirationTime', 'POST', 60, -3],
  [
    'autoTopicCreation',
    'POST',
    { allowAutoTopicCreation: true, topicType: 'partitioned', defaultNumPartitions: 3 },
    { allowAutoTopicCreation: true, topicType: 'sharded' },
  ],
  ['offloadThreshold', 'PUT', 1048576, -9],
  ['offloadDeletionLagMs', 'PUT', 60000, 'soon'],
  ['maxProducersPerTopic', 'POST', 5, -1],
  ['maxConsumersPerTopic', 'POST', 7, 1.5],
  ['subscriptionAuthMode', 'POST', 'Prefix', 'Everything'],
];

describe('namespace policies', { concurrent: false }, () => {
  beforeAll(async () => {
    await h.call('PUT', `${NS}/pol`);
  });

  it.each(POLICIES)('%s: set, get, remove; bad values refused', async (name, verb, good, bad) => {
    const url = `${NS}/pol/${name}`;
    const before = await h.call('GET', url);
    expect([200, 204]).toContain(before.status);
    expect((await h.call(verb, url, good)).status).toBe(204);
    expect((await h.call('GET', url)).body).toEqual(good);
    const refused = await h.call(verb, url, bad);
    expect([400, 412]).toContain(refused.status);
    expect(typeof reason(refused.body)).toBe('string');
    expect((await h.call('GET', url)).body).toEqual(good);
    expect((await h.call('DELETE', url)).status).toBe(204);
    const after = await h.call('GET', url);
    expect(after.status === 204 || after.body === -1 || after.body === 'None').toBe(true);
    expect((await h.call(verb, `${NS}/nope/${name}`, good)).status).toBe(404);
  });

  it('backlog quotas by type, checked against retention', async () => {
    const url = `${NS}/pol/backlogQuota`;
    const q = { limitSize: 10 * 1024 * 1024, limitTime: -1, policy: 'consumer_backlog_eviction' };
    expect((await h.call('POST', url, q)).status).toBe(204);
    expect(
      (
        await h.call('POST', `${url}?backlogQuotaType=message_age`, {
          limitTime: 60,
          policy: 'producer_request_hold',
        })
      ).status,
    ).toBe(204);
    expect((await h.call('GET', `${NS}/pol/backlogQuotaMap`)).body).toEqual({
      destination_storage: q,
      message_age: { limitSize: -1, limitTime: 60, policy: 'producer_request_hold' },
    });
    expect((await h.call('POST', `${url}?backlogQuotaType=bogus`, q)).status).toBe(412);
    expect((await h.call('POST', url, { policy: 'drop' })).status).toBe(412);
    // Retention smaller than the quota is refused both ways.
    const small = await h.call('POST', `${NS}/pol/retention`, {
      retentionTimeInMinutes: 600,
      retentionSizeInMB: 5,
    });
    expect(small.status).toBe(412);
    expect(reason(small.body)).toContain('Retention Quota must exceed configured backlog quota');
    expect(
      (await h.call('POST', `${NS}/pol/retention`, { retentionTimeInMinutes: 600, retentionSizeInMB: 50 }))
        .status,
    ).toBe(204);
    expect(
      (await h.call('POST', url, { limitSize: 100 * 1024 * 1024, policy: 'producer_exception' })).status,
    ).toBe(412);
    expect((await h.call('DELETE', `${url}?backlogQuotaType=message_age`)).status).toBe(204);
    expect(Object.keys((await h.call('GET', `${NS}/pol/backlogQuotaMap`)).body as object)).toEqual([
      'destination_storage',
    ]);
    await h.call('DELETE', url);
    await h.call('DELETE', `${NS}/pol/retention`);
  });

  it('replication clusters: must exist (412) and be allowed for the tenant (403)', async () => {
    const url = `${NS}/pol/replication`;
    expect((await h.call('GET', url)).body).toEqual([]);
    expect((await h.call('POST', url, ['ghost'])).status).toBe(412);
    await h.call('PUT', '/admin/v2/clusters/other', {});
    expect((await h.call('POST', url, ['other'])).status).toBe(403);
    expect((await h.call('POST', url, [])).status).toBe(412);
    expect((await h.call('POST', url, 'test-cluster')).status).toBe(400);
    expect((await h.call('POST', url, ['test-cluster'])).status).toBe(204);
    expect((await h.call('GET', url)).body).toEqual(['test-cluster']);
    expect((await h.call('DELETE', url)).status).toBe(204);
  });

  it('permissions: grant, list, revoke; subscription roles', async () => {
    const url = `${NS}/pol/permissions`;
    expect((await h.call('POST', `${url}/app`, ['produce', 'consume'])).status).toBe(204);
    expect((await h.call('POST', `${url}/reader`, ['consume'])).status).toBe(204);
    expect((await h.call('GET', url)).body).toEqual({ app: ['produce', 'consume'], reader: ['consume'] });
    expect((await h.call('POST', `${url}/x`, ['fly'])).status).toBe(412);
    expect((await h.call('POST', `${url}/x`, 'produce')).status).toBe(400);
    expect((await h.call('DELETE', `${url}/reader`)).status).toBe(204);
    expect((await h.call('GET', url)).body).toEqual({ app: ['produce', 'consume'] });
    expect((await h.call('POST', `${url}/subscription/sub1`, ['app'])).status).toBe(204);
    expect((await h.call('GET', `${url}/subscription`)).body).toEqual({ sub1: ['app'] });
    expect((await h.call('DELETE', `${url}/sub1/app`)).status).toBe(204);
    expect((await h.call('DELETE', `${url}/sub1/app`)).status).toBe(404);
  });

  it('policies survive a server restart (new PolicyStore over the same etcd)', async () => {
    await h.call('POST', `${NS}/pol/messageTTL`, 77);
    await h.call('POST', `${NS}/pol/permissions/keeper`, ['consume']);
    await h.restart();
    expect((await h.call('GET', `${NS}/pol/messageTTL`)).body).toBe(77);
    expect((await h.call('GET', `${NS}/pol/permissions`)).body).toMatchObject({ keeper: ['consume'] });
  });
});

describe('bundles', { concurrent: false }, () => {
  it('list, split, unload, with bad and unknown bundles refused', async () => {
    await h.call('PUT', `${NS}/bun`, { bundles: { numBundles: 2 } });
    expect((await h.call('GET', `${NS}/bun/bundles`)).body).toEqual({
      boundaries: ['0x00000000', '0x80000000', '0xffffffff'],
      numBundles: 2,
    });
    expect((await h.call('PUT', `${NS}/bun/0x00000000_0x80000000/split`)).status).toBe(204);
    expect((await h.call('GET', `${NS}/bun/bundles`)).body).toEqual({
      boundaries: ['0x00000000', '0x40000000', '0x80000000', '0xffffffff'],
      numBundles: 3,
    });
    expect((await h.call('PUT', `${NS}/bun/0x00000000_0x40000000/unload`)).status).toBe(204);
    expect((await h.call('PUT', `${NS}/bun/unload`)).status).toBe(204);
    expect((await h.call('PUT', `${NS}/bun/0x00000000_0x80000000/unload`)).status).toBe(404);
    expect((await h.call('PUT', `${NS}/bun/nonsense/split`)).status).toBe(412);
    expect(
      (await h.call('PUT', `${NS}/bun/0x00000000_0x40000000/split?splitAlgorithmName=magic`)).status,
    ).toBe(400);
    expect((await h.call('GET', '/lookup/v2/topic/persistent/acme/bun/t1/bundle')).status).toBe(200);
  });
});
