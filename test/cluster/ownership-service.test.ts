/**
 * OwnershipService (the broker side) with several in-process brokers on real etcd: lookups agree,
 * only the owner passes checkOwnership, graceful unload runs the broker's handler and moves the
 * bundle, a lost session gives every bundle up and lets another broker take them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleActions } from '../../lib/cluster/actions.ts';
import { formatRange, rangesOf } from '../../lib/cluster/bundle-range.ts';
import { ClusterErrors } from '../../lib/cluster/errors.ts';
import type { OwnershipService, UnloadReason } from '../../lib/cluster/ownership-service.ts';
import { idFromName } from '../../lib/cluster/view.ts';
import { silentLogger } from '../../lib/log/index.ts';
import type { EtcdMetadataStore } from '../../lib/metadata/etcd-store.ts';
import { newPrefix, openStore, startBroker, waitFor } from './helpers.ts';

let prefix: string;
const stores: EtcdMetadataStore[] = [];
const brokers: OwnershipService[] = [];
const unloads: { broker: string; bundle: string; reason: UnloadReason }[] = [];

async function broker(id: string): Promise<OwnershipService> {
  const store = await openStore(prefix);
  stores.push(store);
  // One test process hosts every broker, so its CPU readings say nothing: place by bundle count.
  const b = await startBroker(store, id, { config: { placementScoreTolerance: 10, overloadThreshold: 10 } });
  b.onBundleUnload((bundle, reason) => {
    unloads.push({ broker: id, bundle: bundle.name, reason });
  });
  brokers.push(b);
  return b;
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
}

beforeAll(async () => {
  prefix = newPrefix();
});

afterAll(async () => {
  for (const b of brokers) await b.close().catch(() => undefined);
  await stores[0]?.deletePrefix('/');
  for (const s of stores) await s.close();
});

describe('OwnershipService on etcd', { concurrent: false }, () => {
  let a: OwnershipService;
  let b: OwnershipService;
  const topics = Array.from({ length: 24 }, (_, i) => `persistent://acme/orders/t-${i}`);

  it('answers the same owner from every broker and lets only the owner serve', async () => {
    a = await broker('a');
    b = await broker('b');
    await waitFor('both brokers registered', () => a.view.isRegistered('b') && b.view.isRegistered('a'));
    for (const topic of topics) {
      const viaA = await a.lookupTopic(topic);
      const viaB = await b.lookupTopic(topic);
      expect(viaB.brokerId).toBe(viaA.brokerId);
      expect(viaA).toMatchObject({ authoritative: true, redirect: false, proxyThroughServiceUrl: false });
      const owner = viaA.brokerId === 'a' ? a : b;
      const other = owner === a ? b : a;
      expect(viaA.brokerServiceUrl).toBe(owner.selfRegistration().serviceUrl);
      const token = await owner.checkOwnership(topic);
      expect(token.bundle.contains(topic)).toBe(true);
      const err = await errorOf(other.checkOwnership(topic));
      expect(ClusterErrors.is(err, 'NOT_OWNER')).toBe(true);
      expect((err as { spec: { wire: number } }).spec.wire).toBe(6); // ServiceNotReady: look up again
    }
    // 4 bundles of acme/orders spread over both brokers by count.
    expect(a.ownedBundles().length + b.ownedBundles().length).toBe(4);
    expect(a.ownedBundles().length).toBeGreaterThan(0);
    expect(b.ownedBundles().length).toBeGreaterThan(0);
  });

  it('takes a free bundle itself on an authoritative lookup', async () => {
    const res = await b.lookupTopic('persistent://acme/auth/x', { authoritative: true });
    expect(res.brokerId).toBe('b');
    await b.checkOwnership('persistent://acme/auth/x');
    const bad = await errorOf(a.lookupTopic('persistent://acme/auth'));
    expect(ClusterErrors.is(bad, 'INVALID_TOPIC_NAME')).toBe(true);
  });

  it('unloads gracefully: the owner closes the bundle, then it moves to the destination', async () => {
    const topic = topics[0];
    const before = await a.lookupTopic(topic);
    const owner = before.brokerId === 'a' ? a : b;
    const dest = owner === a ? b : a;
    const id = idFromName(before.bundle)!;
    const coord = new BundleActions(a.os, a.view, 'coordinator', silentLogger());
    const res = await coord.release(id, await coord.fresh(id), dest.brokerId, 'unload', true);
    expect(res.ok).toBe(true);
    await waitFor('destination owns the bundle', () =>
      dest.ownedBundles().some((x) => x.name === before.bundle),
    );
    expect(unloads).toContainEqual({ broker: owner.brokerId, bundle: before.bundle, reason: 'unload' });
    expect(owner.ownedBundles().some((x) => x.name === before.bundle)).toBe(false);
    expect(ClusterErrors.is(await errorOf(owner.checkOwnership(topic)), 'NOT_OWNER')).toBe(true);
    await dest.checkOwnership(topic);
    expect((await owner.lookupTopic(topic)).brokerId).toBe(dest.brokerId);
    const record = (await coord.fresh(id)).record!;
    expect(record.previousOwner).toBe(owner.brokerId);
    expect(record.movedAtMs).toBeGreaterThan(0);
  });

  it('gives every bundle up when its session is lost; another broker takes them over', async () => {
    const held = a.ownedBundles().map((x) => x.name);
    expect(held.length).toBeGreaterThan(0);
    const lostSession = a.session!.id;
    await stores[0].revokeSession(lostSession);
    await waitFor('a reports its bundles lost', () =>
      held.every((n) => unloads.some((u) => u.broker === 'a' && u.bundle === n && u.reason === 'lost')),
    );
    expect(a.ownedBundles()).toEqual([]);
    await waitFor(
      'a registered again under a new session',
      () => a.session?.alive === true && a.session.id !== lostSession && a.state === 'running',
    );
    for (const topic of topics) {
      const res = await b.lookupTopic(topic);
      const owner = res.brokerId === 'a' ? a : b;
      await owner.checkOwnership(topic);
    }
  });

  it('claims a bundle assigned to it before it could take bundles (no lookup needed)', async () => {
    // The coordinator may assign to a broker whose registration is visible while it still starts;
    // that change arrives while it cannot claim, and nothing would wake it again.
    const os = b.os;
    const actions = new BundleActions(os, b.view, 'test-coordinator', silentLogger());
    const boundaries = await b.boundaries.get('acme', 'early');
    const id = { tenant: 'acme', namespace: 'early', range: rangesOf(boundaries.value)[1] };
    const assigned = await actions.assign(id, await os.read(id), 'd', 'test', boundaries.version);
    expect(assigned.ok).toBe(true);
    const d = await broker('d');
    const name = `acme/early/${formatRange(id.range)}`;
    await waitFor('d claims what was assigned to it', () => d.ownedEpochs().has(name));
    expect((await os.read(id)).record).toMatchObject({ state: 'owned', owner: 'd' });
    await d.close();
  });

  it('releases everything on close so the survivors can take the bundles', async () => {
    const c = await broker('c');
    await waitFor('c visible to b', () => b.view.isRegistered('c'));
    const res = await c.lookupTopic('persistent://acme/closing/t', { authoritative: true });
    expect(res.brokerId).toBe('c');
    await c.close();
    expect(unloads).toContainEqual({ broker: 'c', bundle: res.bundle, reason: 'shutdown' });
    await waitFor('c deregistered', () => !b.view.isRegistered('c'));
    expect((await b.lookupTopic('persistent://acme/closing/t')).brokerId).not.toBe('c');
  });
});
