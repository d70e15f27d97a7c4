/** PolicyStoreProvider (the broker's PolicyProvider over lib/policies) against real etcd. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../lib/log/index.ts';
import { type EtcdMetadataStore, openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import { PolicyStoreProvider } from '../../lib/policies/broker-provider.ts';
import { initialBoundariesFromPolicies } from '../../lib/policies/bundles.ts';
import { builtinPolicyDefaults } from '../../lib/policies/defaults.ts';
import { parseTopicName } from '../../lib/policies/names.ts';
import { createNamespace, updatePolicies } from '../../lib/policies/namespaces.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import { updateTopicPolicies } from '../../lib/policies/topic-policies.ts';
import { uniquePrefix } from '../harness/index.ts';

let raw: EtcdMetadataStore;
let store: PolicyStore;
let provider: PolicyStoreProvider;
const t = (full: string) => ({ full });

beforeAll(async () => {
  raw = await openEtcdStore({
    hosts: [inject('etcdEndpoint')],
    rootPrefix: uniquePrefix('prov'),
    logger: silentLogger(),
  });
  store = new PolicyStore(raw, {
    cluster: 'c1',
    defaults: { ...builtinPolicyDefaults(), defaultRetentionTimeInMinutes: 5 },
  });
  await store.start();
  await store.createCluster('c1', {});
  await store.createTenant('acme', { adminRoles: [], allowedClusters: ['c1'] });
  await createNamespace(store, { tenant: 'acme', namespace: 'ns' });
  provider = new PolicyStoreProvider(store);
});
afterAll(async () => {
  await store?.close();
  await raw?.deletePrefix('/');
  await raw?.close();
});

describe('PolicyStoreProvider', { concurrent: false }, () => {
  it('resolves topic policies topic → namespace → defaults in the broker units', async () => {
    const base = await provider.topicPolicies(t('persistent://acme/ns/a'));
    expect(base).toMatchObject({
      deduplicationEnabled: false,
      ensembleSize: 2,
      retentionTimeMs: 300_000,
      retentionSizeBytes: 0,
    });
    await updatePolicies(store, { tenant: 'acme', namespace: 'ns' }, (p) => {
      p.deduplicationEnabled = true;
      p.retention_policies = { retentionTimeInMinutes: -1, retentionSizeInMB: 10 };
      p.persistence = {
        bookkeeperEnsemble: 3,
        bookkeeperWriteQuorum: 3,
        bookkeeperAckQuorum: 2,
        managedLedgerMaxMarkDeleteRate: 1,
      };
    });
    await updateTopicPolicies(store, parseTopicName('persistent://acme/ns/a'), (p) => {
      p.max_producers_per_topic = 2;
    });
    const a = await provider.topicPolicies(t('persistent://acme/ns/a-partition-1'));
    expect(a).toMatchObject({
      deduplicationEnabled: true,
      ensembleSize: 3,
      ackQuorum: 2,
      retentionTimeMs: -1,
      retentionSizeBytes: 10 * 1024 * 1024,
      maxProducersPerTopic: 2,
    });
  });

  it('answers auto-creation and partitioned metadata', async () => {
    expect(await provider.autoCreation(t('persistent://acme/ns/x'))).toEqual({
      allowed: true,
      partitions: 0,
    });
    expect(await provider.autoCreation(t('persistent://acme/ghost/x'))).toEqual({ allowed: false });
    expect(await provider.namespaceExists('acme', 'ns')).toBe(true);
    expect(await provider.namespaceExists('acme', 'ghost')).toBe(false);
    expect(await provider.partitions(t('persistent://acme/ns/p'))).toBeUndefined();
    await provider.createPartitionedMetadata(t('persistent://acme/ns/p'), 4);
    await provider.createPartitionedMetadata(t('persistent://acme/ns/p'), 9); // concurrent creator: first stands
    expect(await provider.partitions(t('persistent://acme/ns/p-partition-3'))).toBe(4);
    await provider.deletePartitionedMetadata(t('persistent://acme/ns/p'));
    await provider.deletePartitionedMetadata(t('persistent://acme/ns/p'));
    expect(await provider.partitions(t('persistent://acme/ns/p'))).toBeUndefined();
    await createNamespace(store, { tenant: 'acme', namespace: 'ns8' }, { numBundles: 8 });
    const initial = initialBoundariesFromPolicies(store);
    expect(await initial('acme', 'ns8')).toHaveLength(9);
    expect(await initial('acme', 'ghost')).toBeUndefined();
    const e = await provider.effective(t('persistent://acme/ns/p'));
    expect(e.publishRate.publishThrottlingRateInMsg).toBe(-1);
  });
});
