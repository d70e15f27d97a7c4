/**
 * The authorization matrix: every role against every kind of endpoint, proving no role reaches
 * what it was not granted (HTTP), and the same decisions through AuthorizationService (what the
 * broker calls on PRODUCER / SUBSCRIBE / LOOKUP).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizationService } from '../../lib/auth/authorize.ts';
import { defaultAuthConfig } from '../../lib/auth/config.ts';
import { parseTopicName } from '../../lib/policies/names.ts';
import { type AdminHarness, startAdmin } from './helpers.ts';

let h: AdminHarness;
const tokens: Record<string, string> = {};
const ROLES = ['root', 'tadmin', 'otheradmin', 'producer', 'consumer', 'topicwriter', 'stranger'] as const;
type Role = (typeof ROLES)[number];

beforeAll(async () => {
  h = await startAdmin({
    auth: { authenticationEnabled: true, authorizationEnabled: true, superUserRoles: ['root'] },
  });
  for (const r of ROLES) tokens[r] = await h.token(r);
  const root = { token: tokens.root };
  const ok = async (p: Promise<{ status: number; text: string }>) => {
    const r = await p;
    if (r.status !== 204) throw new Error(`setup: ${r.status} ${r.text}`);
  };
  await ok(h.call('PUT', '/admin/v2/clusters/test-cluster', {}, root));
  await ok(
    h.call(
      'PUT',
      '/admin/v2/tenants/acme',
      { adminRoles: ['tadmin'], allowedClusters: ['test-cluster'] },
      root,
    ),
  );
  await ok(
    h.call(
      'PUT',
      '/admin/v2/tenants/other',
      { adminRoles: ['otheradmin'], allowedClusters: ['test-cluster'] },
      root,
    ),
  );
  await ok(h.call('PUT', '/admin/v2/namespaces/acme/ns', undefined, root));
  await ok(h.call('POST', '/admin/v2/namespaces/acme/ns/permissions/producer', ['produce'], root));
  await ok(h.call('POST', '/admin/v2/namespaces/acme/ns/permissions/consumer', ['consume'], root));
  await ok(h.call('POST', '/admin/v2/persistent/acme/ns/t1/permissions/topicwriter', ['produce'], root));
  await ok(h.call('PUT', '/admin/v2/persistent/acme/ns/pt/partitions', 2, root));
});
afterAll(async () => {
  await h?.close();
});

const ADMINS: Role[] = ['root', 'tadmin'];
const LOOKUP_T1: Role[] = ['root', 'tadmin', 'producer', 'consumer', 'topicwriter'];
const LOOKUP_NS: Role[] = ['root', 'tadmin', 'producer', 'consumer'];

/** [method, path, body, roles allowed] */
const MATRIX: [string, string, unknown, readonly Role[]][] = [
  ['GET', '/admin/v2/clusters', undefined, ROLES],
  ['PUT', '/admin/v2/clusters/c9', {}, ['root']],
  ['POST', '/admin/v2/clusters/test-cluster', {}, ['root']],
  ['DELETE', '/admin/v2/clusters/c-none', undefined, ['root']],
  ['GET', '/admin/v2/tenants', undefined, ['root']],
  ['GET', '/admin/v2/tenants/acme', undefined, ADMINS],
  ['GET', '/admin/v2/tenants/other', undefined, ['root', 'otheradmin']],
  ['PUT', '/admin/v2/tenants/newt', { allowedClusters: ['test-cluster'] }, ['root']],
  ['POST', '/admin/v2/tenants/acme', { adminRoles: ['tadmin'], allowedClusters: ['test-cluster'] }, ['root']],
  ['DELETE', '/admin/v2/tenants/none', undefined, ['root']],
  ['GET', '/admin/v2/namespaces/acme', undefined, ADMINS],
  ['PUT', '/admin/v2/namespaces/acme/ns2', undefined, ADMINS],
  ['GET', '/admin/v2/namespaces/acme/ns', undefined, ADMINS],
  ['DELETE', '/admin/v2/namespaces/acme/none', undefined, ADMINS],
  ['POST', '/admin/v2/namespaces/acme/ns/messageTTL', 10, ADMINS],
  ['GET', '/admin/v2/namespaces/acme/ns/retention', undefined, ADMINS],
  ['POST', '/admin/v2/namespaces/acme/ns/backlogQuota', { limitSize: 10 }, ADMINS],
  ['GET', '/admin/v2/namespaces/acme/ns/permissions', undefined, ADMINS],
  ['POST', '/admin/v2/namespaces/acme/ns/permissions/someone', ['consume'], ADMINS],
  ['DELETE', '/admin/v2/namespaces/acme/ns/permissions/nobody', undefined, ADMINS],
  ['GET', '/admin/v2/namespaces/acme/ns/bundles', undefined, ADMINS],
  ['PUT', '/admin/v2/namespaces/acme/ns/unload', undefined, ADMINS],
  ['GET', '/admin/v2/namespaces/acme/ns/topics', undefined, ADMINS],
  ['GET', '/admin/v2/persistent/acme/ns', undefined, ADMINS],
  ['PUT', '/admin/v2/persistent/acme/ns/newpt/partitions', 2, ADMINS],
  ['POST', '/admin/v2/persistent/acme/ns/pt/partitions', 3, ADMINS],
  ['GET', '/admin/v2/persistent/acme/ns/pt/partitions', undefined, LOOKUP_NS],
  ['GET', '/admin/v2/persistent/acme/ns/t1/partitions', undefined, LOOKUP_T1],
  ['POST', '/admin/v2/persistent/acme/ns/t1/permissions/someone', ['consume'], ADMINS],
  ['GET', '/admin/v2/persistent/acme/ns/t1/permissions', undefined, ADMINS],
  ['POST', '/admin/v2/persistent/acme/ns/t1/messageTTL', 5, ADMINS],
  ['GET', '/admin/v2/persistent/acme/ns/t1/subscriptions', undefined, ['root', 'tadmin', 'consumer']],
  ['PUT', '/admin/v2/persistent/acme/ns/t1/subscription/s', undefined, ['root', 'tadmin', 'consumer']],
  ['GET', '/admin/v2/persistent/acme/ns/t1/stats', undefined, LOOKUP_T1],
  ['PUT', '/admin/v2/persistent/acme/ns/t1/unload', undefined, ADMINS],
  ['GET', '/lookup/v2/topic/persistent/acme/ns/t1', undefined, LOOKUP_T1],
  ['GET', '/lookup/v2/topic/persistent/acme/ns/t2', undefined, LOOKUP_NS],
  ['GET', '/admin/v2/brokers', undefined, ['root']],
  ['GET', '/admin/v2/brokers/leaderBroker', undefined, ['root']],
  ['GET', '/admin/v2/brokers/health', undefined, ['root']],
];

describe('HTTP authorization matrix', { concurrent: false }, () => {
  it.each(MATRIX)('%s %s', async (method, path, body, allowed) => {
    for (const role of ROLES) {
      const r = await h.call(method, path, body, { token: tokens[role] });
      if (allowed.includes(role)) {
        expect([401, 403], `${role} should pass auth on ${method} ${path}: ${r.text}`).not.toContain(
          r.status,
        );
      } else {
        expect(r.status, `${role} must be refused ${method} ${path}`).toBe(403);
        expect(typeof (r.body as { reason: string }).reason).toBe('string');
      }
    }
    // Without a token, or with a bad one, nothing passes (ready is the only open route).
    expect((await h.call(method, path, body)).status).toBe(401);
    expect((await h.call(method, path, body, { token: `${tokens.root}x` })).status).toBe(401);
  });

  it('ready stays open for probes; other tokens signed elsewhere are refused', async () => {
    expect((await h.call('GET', '/admin/v2/brokers/ready')).status).toBe(200);
    const other = await startAdmin({ auth: { authenticationEnabled: true, authorizationEnabled: true } });
    try {
      const foreign = await other.token('root');
      expect((await h.call('GET', '/admin/v2/clusters', undefined, { token: foreign })).status).toBe(401);
    } finally {
      await other.close();
    }
  });
});

describe('binary-protocol decisions (AuthorizationService)', () => {
  it('PRODUCER / SUBSCRIBE / LOOKUP follow grants, tenant admins and superusers', async () => {
    const authz = new AuthorizationService(
      defaultAuthConfig({
        authenticationEnabled: true,
        authorizationEnabled: true,
        superUserRoles: ['root'],
      }),
      h.policies,
    );
    const t1 = parseTopicName('persistent://acme/ns/t1');
    const t2 = parseTopicName('persistent://acme/ns/t2');
    const part = parseTopicName('persistent://acme/ns/t1-partition-0');
    const foreign = parseTopicName('persistent://other/x/t');
    const expectations: [Role, 'produce' | 'consume' | 'lookup', typeof t1, boolean][] = [
      ['root', 'produce', foreign, true],
      ['tadmin', 'produce', t1, true],
      ['tadmin', 'consume', t1, true],
      ['tadmin', 'produce', foreign, false],
      ['otheradmin', 'consume', t1, false],
      ['producer', 'produce', t2, true],
      ['producer', 'consume', t2, false],
      ['consumer', 'consume', t2, true],
      ['consumer', 'produce', t2, false],
      ['consumer', 'lookup', t2, true],
      ['topicwriter', 'produce', t1, true],
      ['topicwriter', 'produce', part, true],
      ['topicwriter', 'produce', t2, false],
      ['topicwriter', 'lookup', t2, false],
      ['stranger', 'lookup', t1, false],
      ['stranger', 'consume', t1, false],
    ];
    for (const [role, op, topic, want] of expectations) {
      expect(
        await authz.allowed(role, topic, op, op === 'consume' ? 'sub' : undefined),
        `${role} ${op} ${topic.full}`,
      ).toBe(want);
    }
    await expect(authz.checkTopic('stranger', t1, 'produce')).rejects.toMatchObject({
      code: 'NOT_AUTHORIZED',
      spec: { wire: 4 },
    });
    // A subscription restricted to other roles refuses a role with consume.
    await h.call('POST', '/admin/v2/namespaces/acme/ns/permissions/subscription/private', ['tadmin'], {
      token: tokens.root,
    });
    expect(await authz.canConsume('consumer', t2, 'private')).toBe(false);
    expect(await authz.canConsume('consumer', t2, 'public')).toBe(true);
  });
});
