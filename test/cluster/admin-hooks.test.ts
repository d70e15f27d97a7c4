/**
 * The admin API hooks on clustered brokers (real etcd): bundle listing, split (owned and free
 * bundles, three algorithms), unload with a destination, owned namespaces, HTTP lookup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterBrokerRegistry,
  clusterBundleHook,
  clusterOwnershipHook,
  httpLookup,
} from '../../lib/cluster/admin-hooks.ts';
import { parseRange, topicHash } from '../../lib/cluster/bundle-range.ts';
import type { OwnershipService } from '../../lib/cluster/ownership-service.ts';
import { parseTopicName } from '../../lib/cluster/topic-name.ts';
import type { EtcdMetadataStore } from '../../lib/metadata/etcd-store.ts';
import { newPrefix, openStore, startBroker, waitFor } from './helpers.ts';

const stores: EtcdMetadataStore[] = [];
const brokers: OwnershipService[] = [];
let a: OwnershipService;
let b: OwnershipService;
const ns = { tenant: 'acme', namespace: 'admin' };
const topicIn = (i: number) => parseTopicName(`persistent://acme/admin/t-${i}`);

beforeAll(async () => {
  const prefix = newPrefix();
  for (const id of ['a', 'b']) {
    const store = await openStore(prefix);
    stores.push(store);
    brokers.push(
      await startBroker(store, id, { config: { placementScoreTolerance: 10, overloadThreshold: 10 } }),
    );
  }
  [a, b] = brokers;
  await waitFor('registered', () => a.view.isRegistered('b') && b.view.isRegistered('a'));
});

afterAll(async () => {
  for (const x of brokers) await x.close().catch(() => undefined);
  await stores[0].deletePrefix('/');
  for (const s of stores) await s.close();
});

describe('cluster admin hooks', { concurrent: false }, () => {
  const listTopics = async () => Array.from({ length: 40 }, (_, i) => topicIn(i).full);
  const hook = () => clusterBundleHook(a, { maxBundlesPerNamespace: 8, settleTimeoutMs: 10_000, listTopics });

  it('lists the default four bundles like Pulsar', async () => {
    expect(await hook().bundles(ns)).toEqual({
      boundaries: ['0x00000000', '0x40000000', '0x80000000', '0xc0000000', '0xffffffff'],
      numBundles: 4,
    });
  });

  it('splits an owned bundle in place: the owner keeps serving the children', async () => {
    const topic = topicIn(1);
    const where = await a.lookupTopic(topic.full);
    const owner = where.brokerId === 'a' ? a : b;
    const bundle = where.bundle.split('/')[2];
    const data = await hook().splitBundle(ns, bundle, { algorithm: 'range_equally_divide' }, false);
    expect(data.numBundles).toBe(5);
    const parent = parseRange(bundle);
    const mid = parent.lower + Math.floor((parent.upper - parent.lower) / 2);
    expect(data.boundaries).toContain(`0x${mid.toString(16).padStart(8, '0')}`);
    await waitFor('owner claims the child bundle', async () => {
      try {
        return (await owner.checkOwnership(topic.full)).bundle.name !== where.bundle;
      } catch {
        return false;
      }
    });
    const after = await b.lookupTopic(topic.full);
    expect(after.brokerId).toBe(owner.brokerId);
    expect(after.bundle).not.toBe(where.bundle);
  });

  it('splits a bundle nobody owns by topic count, and refuses past the namespace maximum', async () => {
    const data = await hook().bundles(ns);
    const owned = new Set([...a.ownedBundles(), ...b.ownedBundles()].map((x) => x.name.split('/')[2]));
    const free = data.boundaries
      .slice(0, -1)
      .map((lo, i) => `${lo}_${data.boundaries[i + 1]}`)
      .find((x) => !owned.has(x))!;
    const split = await hook().splitBundle(ns, free, { algorithm: 'topic_count_equally_divide' }, false);
    expect(split.numBundles).toBe(6);
    const range = parseRange(free);
    const inside = (await listTopics()).map(topicHash).filter((h) => h >= range.lower && h < range.upper);
    const cut = split.boundaries
      .map((x) => Number.parseInt(x, 16))
      .find((x) => x > range.lower && x < range.upper)!;
    const below = inside.filter((h) => h < cut).length;
    expect(Math.abs(below - (inside.length - below))).toBeLessThanOrEqual(1);
    const specified = await hook().splitBundle(
      ns,
      `${split.boundaries[0]}_${split.boundaries[1]}`,
      { algorithm: 'specified_positions_divide', positions: [0x100, 0x200] },
      false,
    );
    expect(specified.numBundles).toBe(8);
    await expect(
      hook().splitBundle(
        ns,
        `${specified.boundaries[0]}_${specified.boundaries[1]}`,
        { algorithm: 'range_equally_divide' },
        false,
      ),
    ).rejects.toThrow(/TOO_MANY_BUNDLES/);
    await expect(
      hook().splitBundle(ns, '0x00000000_0x7fffffff', { algorithm: 'range_equally_divide' }, false),
    ).rejects.toThrow(/BUNDLE_NOT_FOUND/);
  });

  it('unloads a bundle to a chosen destination; unloading a free bundle is a no-op', async () => {
    const topic = topicIn(7);
    const where = await a.lookupTopic(topic.full);
    const dest = where.brokerId === 'a' ? 'b' : 'a';
    await hook().unloadBundle(ns, where.bundle.split('/')[2], dest);
    await waitFor('moved', async () => (await a.lookupTopic(topic.full)).brokerId === dest);
    const owners = await clusterBrokerRegistry(a).ownedNamespaces('c', dest);
    expect(owners[where.bundle]).toEqual({
      broker_assignment: 'shared',
      is_controlled: false,
      is_active: true,
    });
    const data = await hook().bundles(ns);
    const owned = new Set([...a.ownedBundles(), ...b.ownedBundles()].map((x) => x.name.split('/')[2]));
    const free = data.boundaries
      .slice(0, -1)
      .map((lo, i) => `${lo}_${data.boundaries[i + 1]}`)
      .find((x) => !owned.has(x))!;
    await hook().unloadBundle(ns, free);
  });

  it('answers HTTP lookups with LookupData or a coded reason', async () => {
    const ok = await httpLookup(
      b,
      { domain: 'persistent', tenant: 'acme', namespace: 'admin', topic: 't-3' },
      {},
    );
    expect(ok.status).toBe(200);
    const owner = await a.lookupTopic('persistent://acme/admin/t-3');
    expect(ok.body).toEqual({
      brokerUrl: owner.brokerServiceUrl,
      httpUrl: owner.httpUrl,
      nativeUrl: owner.brokerServiceUrl,
    });
    const bad = await httpLookup(b, { domain: 'kafka', tenant: 'acme', namespace: 'admin', topic: 'x' }, {});
    expect(bad).toMatchObject({ status: 412, body: { reason: expect.stringMatching(/INVALID_TOPIC_NAME/) } });
    expect(await clusterOwnershipHook(b).ownerOf(parseTopicName('persistent://acme/admin/t-3'))).toEqual(
      owner.brokerId === 'b' ? { local: true } : { local: false, httpUrl: owner.httpUrl },
    );
    expect(await clusterBrokerRegistry(a).activeBrokers()).toEqual(['a', 'b']);
    expect(await clusterBrokerRegistry(a).leader()).toBeUndefined();
  });
});
