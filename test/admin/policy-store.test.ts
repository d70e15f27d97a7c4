/**
 * PolicyStore against real etcd: read-your-writes, watch propagation to another process's store,
 * no lost updates under concurrent read-modify-writes, no orphans when a parent is deleted while
 * children are created, corrupt values reported as METADATA_CORRUPT.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../lib/log/index.ts';
import { type EtcdMetadataStore, openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import * as keys from '../../lib/metadata/keys.ts';
import { builtinPolicyDefaults } from '../../lib/policies/defaults.ts';
import { createNamespace, updatePolicies } from '../../lib/policies/namespaces.ts';
import { grantNamespacePermission } from '../../lib/policies/permissions.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import { uniquePrefix } from '../harness/index.ts';

let rawA: EtcdMetadataStore;
let rawB: EtcdMetadataStore;
let a: PolicyStore;
let b: PolicyStore;
const ns = { tenant: 'acme', namespace: 'ns' };

beforeAll(async () => {
  const rootPrefix = uniquePrefix('pstore');
  const opts = { hosts: [inject('etcdEndpoint')], rootPrefix, logger: silentLogger() };
  rawA = await openEtcdStore(opts);
  rawB = await openEtcdStore(opts);
  const defaults = builtinPolicyDefaults();
  a = new PolicyStore(rawA, { cluster: 'c1', defaults });
  b = new PolicyStore(rawB, { cluster: 'c1', defaults });
  await a.start();
  await b.start();
  await a.createCluster('c1', {});
  await a.createTenant('acme', { adminRoles: [], allowedClusters: ['c1'] });
  await createNamespace(a, ns);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await rawA?.deletePrefix('/');
  await rawA?.close();
  await rawB?.close();
});

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never happened: ${what}`);
}

describe('PolicyStore', { concurrent: false }, () => {
  it('reads its own writes at once and sees other writers through the watch', async () => {
    expect((await b.getPolicies(ns))?.message_ttl_in_seconds).toBeUndefined(); // b caches the namespace
    await updatePolicies(a, ns, (p) => {
      p.message_ttl_in_seconds = 42;
    });
    expect((await a.getPolicies(ns))?.message_ttl_in_seconds).toBe(42);
    await eventually(async () => (await b.getPolicies(ns))?.message_ttl_in_seconds === 42, 'b sees the TTL');
    expect(
      (
        await b.effectivePolicies({
          ...ns,
          domain: 'persistent',
          local: 't',
          full: 'persistent://acme/ns/t',
          partitionIndex: -1,
        })
      ).messageTtlSeconds,
    ).toBe(42);
  });

  it('loses no update when two stores grant permissions concurrently', async () => {
    const grants = Array.from({ length: 12 }, (_, i) => `role-${i}`);
    const results = await Promise.allSettled(
      grants.map((role, i) =>
        updatePolicies(i % 2 === 0 ? a : b, ns, (p) => grantNamespacePermission(p, role, ['consume'])),
      ),
    );
    // Every write either landed or was refused as a concurrent modification (409); none was lost.
    const landed = grants.filter((_, i) => results[i].status === 'fulfilled');
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'CONCURRENT_MODIFICATION' });
    }
    expect(landed.length).toBeGreaterThan(0);
    const p = await a.readPolicies(ns);
    expect(Object.keys(p?.value.auth_policies.namespace_auth ?? {}).sort()).toEqual([...landed].sort());
  });

  it('never leaves a namespace whose tenant was deleted concurrently', async () => {
    await a.createTenant('racy', { adminRoles: [], allowedClusters: ['c1'] });
    const results = await Promise.allSettled([
      createNamespace(b, { tenant: 'racy', namespace: 'n1' }),
      a.deleteTenant('racy'),
    ]);
    const tenantLeft = (await a.getTenantEntry('racy')) !== undefined;
    const nsLeft = (await a.readPolicies({ tenant: 'racy', namespace: 'n1' })) !== undefined;
    // Either the namespace was created first (tenant delete refused) or the tenant is gone and no namespace exists.
    expect(nsLeft ? tenantLeft : true).toBe(true);
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
  });

  it('reports a corrupt stored document as METADATA_CORRUPT (500), not a crash', async () => {
    await rawA.put(keys.namespacePolicies('acme', 'broken'), new TextEncoder().encode('{not json'));
    await expect(a.readPolicies({ tenant: 'acme', namespace: 'broken' })).rejects.toMatchObject({
      code: 'METADATA_CORRUPT',
    });
    await rawA.delete(keys.namespacePolicies('acme', 'broken'));
  });
});

describe('partitioned metadata for clients (auto creation)', { concurrent: false }, () => {
  it('answers stored counts, and auto-creates partitioned topics only when the namespace says so', async () => {
    const { partitionedMetadataForClient } = await import('../../lib/policies/partitioned.ts');
    const { parseTopicName } = await import('../../lib/policies/names.ts');
    const auto = { tenant: 'acme', namespace: 'auto' };
    await createNamespace(a, auto);
    const t = parseTopicName('persistent://acme/auto/new');
    expect(await partitionedMetadataForClient(a, t, { autoCreate: true })).toBe(0); // broker default: non-partitioned
    await updatePolicies(a, auto, (p) => {
      p.autoTopicCreationOverride = {
        allowAutoTopicCreation: true,
        topicType: 'partitioned',
        defaultNumPartitions: 3,
      };
    });
    expect(await partitionedMetadataForClient(a, t, { autoCreate: false })).toBe(0);
    expect(await partitionedMetadataForClient(a, t, { autoCreate: true })).toBe(3);
    expect((await b.readPartitioned(t)) !== undefined).toBe(true);
    await updatePolicies(a, auto, (p) => {
      p.autoTopicCreationOverride = { allowAutoTopicCreation: false };
    });
    expect(
      await partitionedMetadataForClient(a, parseTopicName('persistent://acme/auto/other'), {
        autoCreate: true,
      }),
    ).toBe(0);
    expect(await partitionedMetadataForClient(a, t, { autoCreate: true })).toBe(3);
    await expect(
      partitionedMetadataForClient(a, parseTopicName('persistent://acme/ghost/x'), { autoCreate: true }),
    ).rejects.toMatchObject({ code: 'NAMESPACE_NOT_FOUND' });
  });
});

describe('change notifications', { concurrent: false }, () => {
  it('tells listeners of namespace, topic-policy and partitioned changes made by another store', async () => {
    const { updateTopicPolicies } = await import('../../lib/policies/topic-policies.ts');
    const { createPartitionedTopic } = await import('../../lib/policies/partitioned.ts');
    const { parseTopicName } = await import('../../lib/policies/names.ts');
    const seen: string[] = [];
    const off = b.onChange((c) => seen.push(JSON.stringify(c)));
    await updatePolicies(a, ns, (p) => {
      p.deduplicationEnabled = true;
    });
    await updateTopicPolicies(a, parseTopicName('persistent://acme/ns/watched'), (p) => {
      p.message_ttl_in_seconds = 5;
    });
    await createPartitionedTopic(a, parseTopicName('persistent://acme/ns/parted'), 2);
    const want = [
      { kind: 'namespace', tenant: 'acme', namespace: 'ns' },
      { kind: 'topic-policies', topic: 'persistent://acme/ns/watched' },
      { kind: 'partitioned', topic: 'persistent://acme/ns/parted' },
    ].map((c) => JSON.stringify(c));
    await eventually(async () => want.every((w) => seen.includes(w)), 'all three changes heard');
    off();
    const before = seen.length;
    await updatePolicies(a, ns, (p) => {
      p.deduplicationEnabled = false;
    });
    expect((await a.getPolicies(ns))?.deduplicationEnabled).toBe(false);
    expect(seen.length).toBe(before);
  });
});
