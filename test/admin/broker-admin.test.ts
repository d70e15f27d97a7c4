/**
 * The admin API mounted in a real broker (startBroker + adminHttpServer + PolicyStoreProvider over
 * etcd), driven by a real third-party Pulsar client (pulsar-flex) on non-persistent topics:
 * topic listing, stats with Pulsar's field names, subscriptions, delete refused while in use,
 * 404/405 answers, lookup with the broker's own URLs, /metrics on the same port.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuthenticationService } from '../../lib/auth/authenticate.ts';
import { AuthorizationService } from '../../lib/auth/authorize.ts';
import { defaultAuthConfig } from '../../lib/auth/config.ts';
import { silentLogger } from '../../lib/log/index.ts';
import { type EtcdMetadataStore, openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import { createMetrics } from '../../lib/metrics/index.ts';
import { PolicyStoreProvider } from '../../lib/policies/broker-provider.ts';
import { builtinPolicyDefaults } from '../../lib/policies/defaults.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import { adminHttpServer } from '../../services/broker/admin/http-server.ts';
import { type Broker, startBroker } from '../../services/broker/broker.ts';
import { loadBrokerConfig } from '../../services/broker/config.ts';
import { uniquePrefix } from '../harness/index.ts';

// pulsar-flex ships no type declarations: the few members used here.
interface FlexProducer {
  create(): Promise<void>;
  sendMessage(m: { payload: string; properties: Record<string, string> }): Promise<unknown>;
  close(): Promise<void>;
}
interface FlexConsumer {
  subscribe(): Promise<void>;
  run(o: { onMessage: (m: { message: Buffer }) => Promise<void>; autoAck: boolean }): Promise<void>;
  unsubscribe(): Promise<void>;
}
const flex = createRequire(import.meta.url)('pulsar-flex') as {
  Producer: new (o: Record<string, unknown>) => FlexProducer;
  Consumer: (new (o: Record<string, unknown>) => FlexConsumer) & { SUB_TYPES: Record<string, unknown> };
};
const { Producer, Consumer } = flex;

let store: EtcdMetadataStore;
let policies: PolicyStore;
let broker: Broker;
let web: string;

const NP = '/admin/v2/non-persistent/acme/ns';
const TOPIC = 'non-persistent://acme/ns/np1';

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(`${web}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    redirect: 'manual',
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, body: parsed, text };
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

beforeAll(async () => {
  store = await openEtcdStore({
    hosts: [inject('etcdEndpoint')],
    rootPrefix: uniquePrefix('badmin'),
    logger: silentLogger(),
  });
  policies = new PolicyStore(store, { cluster: 'test-cluster', defaults: builtinPolicyDefaults() });
  await policies.start();
  const auth = defaultAuthConfig();
  const config = loadBrokerConfig({
    overrides: {
      bindAddress: '127.0.0.1',
      advertisedAddress: '127.0.0.1',
      brokerServicePort: 0,
      webServicePort: 0,
      clusterName: 'test-cluster',
    },
  });
  broker = await startBroker(config, {
    logger: silentLogger('broker'),
    metrics: createMetrics('broker', 'admin-test', false),
    metadataStore: store,
    policies: new PolicyStoreProvider(policies),
    httpServer: adminHttpServer({
      policies,
      authn: new AuthenticationService(auth),
      authz: new AuthorizationService(auth, policies),
    }),
  });
  web = `http://127.0.0.1:${broker.webServicePort}`;
  expect((await call('PUT', '/admin/v2/clusters/test-cluster', {})).status).toBe(204);
  expect((await call('PUT', '/admin/v2/tenants/acme', { allowedClusters: ['test-cluster'] })).status).toBe(
    204,
  );
  expect((await call('PUT', '/admin/v2/namespaces/acme/ns')).status).toBe(204);
  // Explicit per-topic limits: the broker applies the namespace policy.
  expect((await call('POST', '/admin/v2/namespaces/acme/ns/maxProducersPerTopic', 10)).status).toBe(204);
  expect((await call('POST', '/admin/v2/namespaces/acme/ns/maxConsumersPerTopic', 10)).status).toBe(204);
});
afterAll(async () => {
  await broker?.close();
  await policies?.close();
  await store?.deletePrefix('/');
  await store?.close();
});

describe('admin API inside a broker', { concurrent: false }, () => {
  it('serves ops routes and lookup with the broker URLs on the web port', async () => {
    expect((await call('GET', '/health')).body).toEqual({ status: 'ok' });
    expect((await call('GET', '/ready')).status).toBe(200);
    expect((await call('GET', '/metrics')).text).toContain('# HELP');
    expect((await call('GET', '/admin/v2/brokers/ready')).text).toBe('ok');
    expect((await call('GET', '/lookup/v2/topic/persistent/acme/ns/x')).body).toEqual({
      brokerUrl: broker.brokerServiceUrl,
      httpUrl: web,
      nativeUrl: broker.brokerServiceUrl,
    });
    expect((await call('GET', '/admin/v2/brokers')).body).toEqual([broker.brokerId]);
  });

  it('lists topics, reports stats and subscriptions of a live topic, refuses deleting it in use', async () => {
    const producer = new Producer({
      topic: TOPIC,
      discoveryServers: [`127.0.0.1:${broker.brokerServicePort}`],
      logLevel: 0,
    });
    const consumer = new Consumer({
      topic: TOPIC,
      subscription: 'sub1',
      discoveryServers: [`127.0.0.1:${broker.brokerServicePort}`],
      subType: Consumer.SUB_TYPES.EXCLUSIVE,
      consumerName: 'c1',
      receiveQueueSize: 100,
      logLevel: 0,
    });
    try {
      await producer.create();
      await consumer.subscribe();
      const received: string[] = [];
      await consumer.run({
        onMessage: async ({ message }) => void received.push(message.toString()),
        autoAck: true,
      });
      for (let i = 0; i < 5; i++) await producer.sendMessage({ payload: `m${i}`, properties: {} });
      await eventually(async () => received.length === 5, 'consumer got 5 messages');

      expect((await call('GET', NP)).body).toContain(TOPIC);
      const stats = (await call('GET', `${NP}/np1/stats`)).body as Record<string, any>;
      expect(stats.publishers).toHaveLength(1);
      expect(stats.msgInCounter).toBe(5);
      for (const f of [
        'msgRateIn',
        'msgRateOut',
        'msgThroughputIn',
        'msgThroughputOut',
        'storageSize',
        'backlogSize',
      ]) {
        expect(typeof stats[f], f).toBe('number');
      }
      const sub = stats.subscriptions.sub1;
      expect(sub.type).toBe('Exclusive');
      expect(typeof sub.msgBacklog).toBe('number');
      expect(typeof sub.unackedMessages).toBe('number');
      expect(sub.consumers[0].consumerName).toBe('c1');
      expect(typeof sub.consumers[0].availablePermits).toBe('number');
      expect((await call('GET', `${NP}/np1/subscriptions`)).body).toEqual(['sub1']);

      const inUse = await call('DELETE', `${NP}/np1`);
      expect(inUse.status).toBe(412);
      expect(typeof (inUse.body as { reason: string }).reason).toBe('string');
      expect((await call('POST', `${NP}/np1/terminate`)).status).toBe(405);
      expect((await call('GET', `${NP}/np1/internalStats`)).status).toBe(405);
    } finally {
      await producer.close().catch(() => undefined);
      await consumer.unsubscribe().catch(() => undefined);
    }
    expect((await call('DELETE', `${NP}/np1?force=true`)).status).toBe(204);
  });

  it('answers 404 for unknown topics and subscriptions', async () => {
    expect((await call('GET', `${NP}/ghost/stats`)).status).toBe(404);
    expect((await call('GET', `${NP}/ghost/subscriptions`)).status).toBe(404);
    expect((await call('DELETE', `${NP}/ghost`)).status).toBe(404);
    expect((await call('GET', '/admin/v2/persistent/acme/ghostns/t/stats')).status).toBe(404);
  });

  it('serves partitioned metadata the broker created on first use', async () => {
    await call('POST', '/admin/v2/namespaces/acme/ns/autoTopicCreation', {
      allowAutoTopicCreation: true,
      topicType: 'partitioned',
      defaultNumPartitions: 2,
    });
    const p = await broker.service.getPartitions('persistent://acme/ns/auto-part');
    expect([0, 2]).toContain(p);
    expect((await call('GET', '/admin/v2/persistent/acme/ns/auto-part/partitions')).body).toEqual({
      partitions: p,
    });
  });
});
