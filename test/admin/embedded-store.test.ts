/**
 * Standalone mode runs the admin API over the embedded file-backed metadata store: the same
 * flows (create, policies, CAS conflicts, watch-fed cache) and persistence across a reopen.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { openMetadataStore } from '../../lib/metadata/index.ts';
import { builtinPolicyDefaults } from '../../lib/policies/defaults.ts';
import { parseTopicName } from '../../lib/policies/names.ts';
import { createNamespace, updatePolicies } from '../../lib/policies/namespaces.ts';
import { createPartitionedTopic } from '../../lib/policies/partitioned.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import { removeTempDirs, tempDir } from '../harness/index.ts';

afterAll(() => removeTempDirs());

describe('PolicyStore over the embedded store', () => {
  it('creates, updates and reads back after a reopen', async () => {
    const dir = tempDir('embedded-policies-');
    const open = async () => {
      const md = await openMetadataStore(`file://${dir}`);
      const store = new PolicyStore(md, { cluster: 'standalone', defaults: builtinPolicyDefaults() });
      await store.start();
      return { md, store };
    };
    const first = await open();
    await first.store.createCluster('standalone', {});
    await first.store.createTenant('public', { adminRoles: [], allowedClusters: ['standalone'] });
    await createNamespace(first.store, { tenant: 'public', namespace: 'default' });
    await updatePolicies(first.store, { tenant: 'public', namespace: 'default' }, (p) => {
      p.message_ttl_in_seconds = 9;
    });
    await createPartitionedTopic(first.store, parseTopicName('orders'), 2);
    expect(
      (await first.store.getPolicies({ tenant: 'public', namespace: 'default' }))?.message_ttl_in_seconds,
    ).toBe(9);
    await expect(
      first.store.createTenant('public', { adminRoles: [], allowedClusters: ['standalone'] }),
    ).rejects.toMatchObject({
      code: 'TENANT_EXISTS',
    });
    await first.store.close();
    await first.md.close();

    const second = await open();
    try {
      expect(await second.store.listNamespaces('public')).toEqual(['public/default']);
      expect((await second.store.effectivePolicies(parseTopicName('orders'))).messageTtlSeconds).toBe(9);
      expect((await second.store.getPartitionedMetadata(parseTopicName('orders'))).partitions).toBe(2);
    } finally {
      await second.store.close();
      await second.md.close();
    }
  });
});
