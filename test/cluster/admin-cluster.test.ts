/**
 * The admin API of clustered broker processes (main.ts wiring of lib/cluster's admin hooks): three
 * real brokers, a coordinator and a bookie on etcd. Broker ids are "host:webPort"; a namespace
 * created with N bundles has N in the admin API and in lookups; HTTP lookup answers the owner on
 * every broker; a request for a topic another broker owns is redirected (307) to the owner; admin
 * split and admin unload (from a third broker, under a running producer and consumer) move
 * ownership with no failed send and no lost message, in order.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PulsarClient } from '../../lib/client/index.ts';
import { topicHash } from '../../lib/cluster/bundle-range.ts';
import { OwnershipStore } from '../../lib/cluster/ownership-store.ts';
import {
  type BrokerProcess,
  type StorageCluster,
  spawnBroker,
  startStorageCluster,
} from '../broker/cluster.ts';
import { stopAll } from '../harness/index.ts';
import { startTopicTraffic } from '../harness/topic-traffic.ts';
import { brokersClient, waitFor } from './helpers.ts';
import { startCoordinatorProc } from './procs.ts';

const endpoint = inject('etcdEndpoint');
let sc: StorageCluster;
let brokers: BrokerProcess[] = [];
let client: PulsarClient | undefined;

const idOf = (b: BrokerProcess) => `127.0.0.1:${b.webPort}`;

async function http(
  b: BrokerProcess,
  method: string,
  path: string,
  body?: unknown,
  redirect: 'manual' | 'follow' = 'manual',
): Promise<{ status: number; json: any; location: string | null }> {
  const res = await fetch(`http://127.0.0.1:${b.webPort}${path}`, {
    method,
    redirect,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(50_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, location: res.headers.get('location') };
}

async function ok(b: BrokerProcess, method: string, path: string, body?: unknown): Promise<any> {
  const r = await http(b, method, path, body, 'follow');
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

/** The broker process serving `topic`, by HTTP lookup on `via`. */
async function ownerOf(topic: string, via: BrokerProcess = brokers[0]): Promise<BrokerProcess> {
  const data = await ok(via, 'GET', `/lookup/v2/topic/${topic.replace('://', '/')}`);
  const owner = brokers.find((b) => b.url === data.brokerUrl);
  if (!owner) throw new Error(`lookup answered an unknown broker: ${JSON.stringify(data)}`);
  expect(data.httpUrl).toBe(`http://127.0.0.1:${owner.webPort}`);
  return owner;
}

const bundleOf = (topic: string, boundaries: string[]) => {
  const h = topicHash(topic);
  const nums = boundaries.map((x) => Number.parseInt(x, 16));
  const i = nums.findIndex(
    (lo, k) => k + 1 < nums.length && h >= lo && (h < nums[k + 1] || k + 2 === nums.length),
  );
  return `${boundaries[i]}_${boundaries[i + 1]}`;
};

beforeAll(async () => {
  sc = await startStorageCluster(endpoint, 1, 1);
  const prefix = sc.rc.metadataUrl.slice(`etcd://${endpoint}`.length);
  const flags = { sessionTtlMs: 2000, loadReportIntervalMs: 500 };
  brokers = await Promise.all(['ac-1', 'ac-2', 'ac-3'].map((n) => spawnBroker(sc, n, flags)));
  await startCoordinatorProc(endpoint, prefix, sc.rc.cluster, 'ac-coord', {
    'shedding-enabled': false,
    'split-enabled': false,
  });
}, 60_000);

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await stopAll();
  await sc?.stop();
});

describe('admin API on clustered brokers', { concurrent: false }, () => {
  it('lists the brokers by host:webPort ids on every broker', async () => {
    const expected = brokers.map(idOf).sort();
    for (const b of brokers) {
      await waitFor('every broker registered', async () => {
        const ids = await ok(b, 'GET', `/admin/v2/brokers/${sc.rc.cluster}`);
        return JSON.stringify(ids) === JSON.stringify(expected);
      });
    }
    expect((await ok(brokers[1], 'GET', '/admin/v2/brokers/leaderBroker')).brokerId).toBe('ac-coord');
  });

  it('a namespace created with N bundles has N bundles in the admin API, lookups and ownership', async () => {
    expect(
      (await http(brokers[0], 'PUT', '/admin/v2/namespaces/public/six', { bundles: { numBundles: 6 } }))
        .status,
    ).toBe(204);
    const listed = await ok(brokers[1], 'GET', '/admin/v2/namespaces/public/six/bundles');
    expect(listed.numBundles).toBe(6);
    expect(listed.boundaries).toHaveLength(7);
    expect((await ok(brokers[2], 'GET', '/admin/v2/namespaces/public/six')).bundles).toEqual(listed);
    const stored = await new OwnershipStore(sc.store, sc.rc.cluster).readBoundaries('public', 'six');
    expect(stored?.value).toHaveLength(7);
    const topic = 'persistent://public/six/some-topic';
    const bundle = await (
      await fetch(
        `http://127.0.0.1:${brokers[2].webPort}/lookup/v2/topic/persistent/public/six/some-topic/bundle`,
      )
    ).text();
    expect(bundle).toBe(bundleOf(topic, listed.boundaries));
    const owner = await ownerOf(topic);
    const owned = await ok(
      brokers[0],
      'GET',
      `/admin/v2/brokers/${sc.rc.cluster}/${idOf(owner)}/ownedNamespaces`,
    );
    expect(owned[`public/six/${bundle}`]).toMatchObject({ is_active: true });

    // Deleting the namespace drops its bundles; a new one of the same name starts with its own count.
    expect((await http(brokers[1], 'DELETE', '/admin/v2/namespaces/public/six')).status).toBe(204);
    expect((await http(brokers[1], 'GET', '/admin/v2/namespaces/public/six/bundles')).status).toBe(404);
    expect(
      (await http(brokers[2], 'PUT', '/admin/v2/namespaces/public/six', { bundles: { numBundles: 2 } }))
        .status,
    ).toBe(204);
    expect((await ok(brokers[0], 'GET', '/admin/v2/namespaces/public/six/bundles')).numBundles).toBe(2);
  });

  it('HTTP lookup answers the same owner on every broker, and requests elsewhere get 307 to it', async () => {
    const topic = 'persistent://public/default/redirected';
    const owner = await ownerOf(topic, brokers[2]);
    for (const b of brokers) expect(await ownerOf(topic, b)).toBe(owner);
    const others = brokers.filter((b) => b !== owner);
    expect(others).toHaveLength(2);
    // Create the topic through a non-owner: 307 keeps the method, the owner creates it.
    const path = '/admin/v2/persistent/public/default/redirected';
    const put = await http(others[0], 'PUT', path);
    expect(put.status).toBe(307);
    const to = new URL(put.location!);
    expect(to.port).toBe(String(owner.webPort));
    expect(to.searchParams.get('authoritative')).toBe('true');
    expect((await http(others[0], 'PUT', path, undefined, 'follow')).status).toBe(204);
    for (const other of others) {
      const stats = await http(other, 'GET', `${path}/stats`);
      expect(stats.status).toBe(307);
      expect(new URL(stats.location!).port).toBe(String(owner.webPort));
      expect(new URL(stats.location!).pathname).toBe(`${path}/stats`);
    }
    expect((await http(owner, 'GET', `${path}/stats`)).status).toBe(200);
    expect((await ok(others[1], 'GET', `${path}/stats`)).publishers).toEqual([]);
  });

  it('admin split from a non-owner cuts the bundle in two; the owner keeps serving the topic', async () => {
    const topic = 'persistent://public/default/split-me';
    client ??= brokersClient(brokers);
    const producer = await client.createProducer({ topic });
    await producer.send({ payload: 'before' });
    const owner = await ownerOf(topic);
    const before = await ok(owner, 'GET', '/admin/v2/namespaces/public/default/bundles');
    const parent = bundleOf(topic, before.boundaries);
    const other = brokers.find((b) => b !== owner)!;
    expect(
      (await http(other, 'PUT', `/admin/v2/namespaces/public/default/${parent}/split?unload=false`)).status,
    ).toBe(204);
    const after = await ok(brokers[2], 'GET', '/admin/v2/namespaces/public/default/bundles');
    expect(after.numBundles).toBe(before.numBundles + 1);
    const child = bundleOf(topic, after.boundaries);
    expect(child).not.toBe(parent);
    const [plo, phi] = parent.split('_').map((x) => Number.parseInt(x, 16));
    const [clo, chi] = child.split('_').map((x) => Number.parseInt(x, 16));
    expect(clo >= plo && chi <= phi && chi - clo < phi - plo).toBe(true);
    await waitFor('the owner holds the child bundle', async () => {
      const owned = await ok(
        brokers[0],
        'GET',
        `/admin/v2/brokers/${sc.rc.cluster}/${idOf(owner)}/ownedNamespaces`,
      );
      return owned[`public/default/${child}`]?.is_active === true;
    });
    expect(await ownerOf(topic, other)).toBe(owner);
    await producer.send({ payload: 'after' });
    await producer.close();
  });

  it('admin unload from a third broker moves a busy topic to the chosen broker with no loss', async () => {
    const topic = `persistent://public/default/unload-${Date.now()}`;
    const traffic = await startTopicTraffic(client!, topic, {
      subscriptionType: 'Failover',
      batchingMaxPublishDelayMs: 2,
      pauseEvery: 10,
    });
    await traffic.send(150);
    await waitFor('first receipts', () => traffic.acked.size >= 50);
    const owner = await ownerOf(topic);
    const [destination, third] = brokers.filter((b) => b !== owner);
    const bundles = await ok(third, 'GET', '/admin/v2/namespaces/public/default/bundles');
    const bundle = bundleOf(topic, bundles.boundaries);
    const unloading = traffic.send(150);
    const res = await http(
      third,
      'PUT',
      `/admin/v2/namespaces/public/default/${bundle}/unload?destinationBroker=${idOf(destination)}`,
    );
    expect(res.status).toBe(204);
    await unloading;
    await waitFor(
      'the destination serves the topic',
      async () => (await ownerOf(topic, third)) === destination,
    );
    await traffic.send(100);
    await traffic.producer.flush();
    expect(traffic.failed).toEqual([]);
    expect(traffic.acked.size).toBe(400);
    await waitFor('every acknowledged message received', traffic.allAckedReceived, 40_000);
    await traffic.stopReceiving();
    const stored = await traffic.readStored();
    // Without deduplication a producer resends what it had in flight when the owner closed it, as
    // with Pulsar (at-least-once): a few entries may be stored twice, none lost, first copies in order.
    expect([...new Set(stored)]).toEqual(Array.from({ length: 400 }, (_, i) => `m${i}`));
    await traffic.closeAudit();
    await traffic.producer.close();
  });
  it('partitioned-topic operations run each partition on its owner', async () => {
    expect(
      (await http(brokers[0], 'PUT', '/admin/v2/namespaces/public/parts', { bundles: { numBundles: 8 } }))
        .status,
    ).toBe(204);
    const topic = 'persistent://public/parts/spread';
    const base = '/admin/v2/persistent/public/parts/spread';
    expect((await http(brokers[1], 'PUT', `${base}/partitions`, 6)).status).toBe(204);
    client ??= brokersClient(brokers);
    const producer = await client.createProducer({ topic });
    for (let i = 0; i < 24; i++) await producer.send({ payload: `p${i}`, key: `k${i}` });
    const owners = await Promise.all(Array.from({ length: 6 }, (_, i) => ownerOf(`${topic}-partition-${i}`)));
    // Ask the broker owning the fewest partitions: most of the work runs elsewhere.
    const via = [...brokers].sort(
      (a, b) => owners.filter((o) => o === a).length - owners.filter((o) => o === b).length,
    )[0];
    expect(owners.filter((o) => o !== via).length).toBeGreaterThan(0);

    const stats = await ok(via, 'GET', `${base}/partitioned-stats`);
    expect(Object.keys(stats.partitions).sort()).toEqual(
      Array.from({ length: 6 }, (_, i) => `${topic}-partition-${i}`).sort(),
    );
    expect(stats.msgInCounter).toBe(24);
    expect((await http(via, 'PUT', `${base}/subscription/audit`, 'earliest')).status).toBe(204);
    expect(await ok(via, 'GET', `${base}/subscriptions`)).toEqual(['audit']);
    expect((await ok(via, 'GET', `${base}/partitioned-stats`)).subscriptions.audit.msgBacklog).toBe(24);
    expect((await http(via, 'POST', `${base}/subscription/audit/skip_all`)).status).toBe(204);
    expect((await ok(via, 'GET', `${base}/partitioned-stats`)).subscriptions.audit.msgBacklog).toBe(0);
    expect((await http(via, 'PUT', `${base}/unload`)).status).toBe(204);
    expect((await http(via, 'DELETE', `${base}/subscription/audit`)).status).toBe(204);
    expect(await ok(via, 'GET', `${base}/subscriptions`)).toEqual([]);
    await producer.close();
    const deleted = await http(via, 'DELETE', `${base}/partitions?force=true`);
    expect(deleted.status, JSON.stringify(deleted.json)).toBe(204);
    const left = await ok(brokers[2], 'GET', '/admin/v2/persistent/public/parts');
    expect(left.filter((t: string) => t.startsWith(topic))).toEqual([]);
  });
});
