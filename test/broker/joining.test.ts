/**
 * A broker that binds its ports before joining the cluster (its registration names them) serves
 * nothing until it has joined: LOOKUP and PRODUCER answer ServiceNotReady (clients look up again),
 * /ready says why, the admin API's cluster routes answer 503. Once joined it serves through
 * lib/cluster ownership (real etcd; the join is held back by the test, not timed).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAuthConfig } from '../../lib/auth/config.ts';
import { AuthenticationService, AuthorizationService } from '../../lib/auth/index.ts';
import { silentLogger } from '../../lib/log/index.ts';
import { openMetadataStore } from '../../lib/metadata/index.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { createMetrics } from '../../lib/metrics/index.ts';
import { PolicyStoreProvider } from '../../lib/policies/broker-provider.ts';
import { builtinPolicyDefaults } from '../../lib/policies/defaults.ts';
import { createNamespace } from '../../lib/policies/namespaces.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import { ServerError } from '../../lib/wire/protocol.ts';
import { adminHttpServer } from '../../services/broker/admin/http-server.ts';
import { type Broker, startBroker } from '../../services/broker/broker.ts';
import { clusterWiring } from '../../services/broker/cluster-wiring.ts';
import { loadBrokerConfig } from '../../services/broker/config.ts';
import { freePorts, uniquePrefix } from '../harness/index.ts';
import { eventually } from './harness.ts';
import { T, WireClient } from './wire-client.ts';

const CLUSTER = 'joining';
let store: MetadataStore;
let ps: PolicyStore;
let broker: Broker | undefined;

beforeAll(async () => {
  store = await openMetadataStore(`etcd://${inject('etcdEndpoint')}${uniquePrefix('join')}`);
  ps = new PolicyStore(store, { cluster: CLUSTER, defaults: builtinPolicyDefaults() });
  await ps.start();
  await ps.createCluster(CLUSTER, {});
  await ps.createTenant('public', { adminRoles: [], allowedClusters: [CLUSTER] });
  await createNamespace(ps, { tenant: 'public', namespace: 'default' });
});

afterAll(async () => {
  await broker?.close();
  await ps?.close();
  await store?.close();
});

describe('a broker joining the cluster', { concurrent: false }, () => {
  it('answers ServiceNotReady until it has joined, then serves through ownership', async () => {
    const [port, webPort] = await freePorts(2);
    const config = loadBrokerConfig({
      overrides: {
        clusterName: CLUSTER,
        bindAddress: '127.0.0.1',
        brokerServicePort: port,
        webServicePort: webPort,
        sessionTtlMs: 2000,
      },
    });
    const log = silentLogger('broker');
    const wiring = clusterWiring({ config, store, policyStore: ps, log });
    const auth = defaultAuthConfig();
    let join!: () => void;
    const joinAllowed = new Promise<void>((resolve) => {
      join = resolve;
    });
    const starting = startBroker(config, {
      logger: log,
      metrics: createMetrics('broker', 'joining', false),
      metadataStore: store,
      policies: new PolicyStoreProvider(ps),
      ownership: async (args) => {
        await joinAllowed;
        return wiring.ownership(args);
      },
      httpServer: adminHttpServer({
        policies: ps,
        authn: new AuthenticationService(auth),
        authz: new AuthorizationService(auth, ps),
        ...wiring.admin,
      }),
    });
    const topic = 'non-persistent://public/default/early';
    const web = `http://127.0.0.1:${webPort}`;
    await eventually(
      async () => (await fetch(`${web}/health`).catch(() => undefined))?.status === 200,
      'the HTTP port bound',
    );

    const c = await WireClient.open(port);
    const lookup = await c.lookup(topic);
    expect(lookup).toMatchObject({ response: 'failed', error: ServerError.ServiceNotReady });
    expect((await c.createProducer(topic, 1n)).error?.error).toBe(ServerError.ServiceNotReady);
    const ready = await fetch(`${web}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain('joining the cluster');
    expect((await fetch(`${web}/admin/v2/brokers/${CLUSTER}`)).status).toBe(503);
    expect(wiring.service()).toBeUndefined();

    join();
    broker = await starting;
    expect(broker.brokerId).toBe(`127.0.0.1:${webPort}`);
    await c.lookupUntil(topic, broker.brokerServiceUrl);
    expect((await c.createProducer(topic, 2n)).type).toBe(T.PRODUCER_SUCCESS);
    expect((await fetch(`${web}/ready`)).status).toBe(200);
    // The active-broker list is mirrored from registrations by a watch: it catches up, it is not
    // read-your-writes for the broker's own registration.
    const brokerId = broker.brokerId;
    await eventually(async () => {
      const listed = (await (await fetch(`${web}/admin/v2/brokers/${CLUSTER}`)).json()) as string[];
      return listed.length === 1 && listed[0] === brokerId;
    }, 'the admin API listing this broker');
    c.close();
  });
});
