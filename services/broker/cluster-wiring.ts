/**
 * Cluster wiring of a broker (main.ts and standalone): lib/cluster's OwnershipService for the
 * binary protocol (startBroker's `ownership` factory) and the admin API's cluster hooks
 * (`adminHttpServer({ ownership, bundles, brokers })`).
 *
 * One source of truth for bundles: lib/cluster's stored boundaries (`keys.localPolicies`). A
 * namespace's document only says what it starts with (`initialBoundaries`, and `namespaceCreated`
 * stores them eagerly); splits change the stored boundaries only, and every admin read (bundle
 * list, namespace policies, `/lookup/.../bundle`, owned namespaces) comes from lib/cluster.
 *
 * The admin server is bound before the ownership service exists (the registration names the
 * bound ports), so the hooks reach the service lazily; until it runs they answer 503 NOT_READY.
 */
import {
  clusterBrokerRegistry,
  clusterBundleHook,
  clusterOwnershipHook,
} from '../../lib/cluster/admin-hooks.ts';
import { type ClusterConfig, clusterConfigSpec } from '../../lib/cluster/config.ts';
import { deleteNamespaceBundles, initNamespaceBundles } from '../../lib/cluster/namespace-bundles.ts';
import { OwnershipService } from '../../lib/cluster/ownership-service.ts';
import { OwnershipStore } from '../../lib/cluster/ownership-store.ts';
import type { Logger } from '../../lib/log/index.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import type { Metrics } from '../../lib/metrics/index.ts';
import { checkBoundaries, initialBoundariesFromPolicies } from '../../lib/policies/bundles.ts';
import { type NamespaceName, formatNamespace } from '../../lib/policies/names.ts';
import { requirePolicies } from '../../lib/policies/namespaces.ts';
import type { PolicyStore } from '../../lib/policies/store.ts';
import type { BrokerRegistry, BundleHook, OwnershipHook } from './admin/deps.ts';
import { adminErrors } from './admin/errors.ts';
import { bundleLoads } from './bundle-loads.ts';
import type { BrokerConfig } from './config.ts';
import type { OwnershipFactory } from './ownership.ts';

export interface ClusterWiringOptions {
  readonly config: BrokerConfig;
  readonly store: MetadataStore;
  readonly policyStore: PolicyStore;
  readonly log: Logger;
  readonly metrics?: Metrics;
}

export interface ClusterAdminHooks {
  readonly ownership: OwnershipHook;
  readonly bundles: BundleHook;
  readonly brokers: BrokerRegistry;
}

export interface ClusterWiring {
  /** startBroker's `ownership` dependency. */
  readonly ownership: OwnershipFactory;
  /** adminHttpServer's cluster hooks. */
  readonly admin: ClusterAdminHooks;
  /** The running ownership service (undefined before startBroker has joined the cluster). */
  service(): OwnershipService | undefined;
}

function clusterConfigOf(config: BrokerConfig): ClusterConfig {
  const c = config as unknown as Record<string, unknown>;
  return Object.fromEntries(Object.keys(clusterConfigSpec).map((k) => [k, c[k]])) as ClusterConfig;
}

export function clusterWiring(o: ClusterWiringOptions): ClusterWiring {
  let svc: OwnershipService | undefined;
  const running = (): OwnershipService => {
    if (svc && svc.state !== 'closed') return svc;
    throw adminErrors.make('NOT_READY', { why: svc ? 'left the cluster' : 'joining the cluster' });
  };
  const os = new OwnershipStore(o.store, o.config.clusterName);
  const initialBoundaries = initialBoundariesFromPolicies(o.policyStore);

  const ownership: OwnershipFactory = async (args) => {
    const started = await OwnershipService.start({
      store: o.store,
      cluster: o.config.clusterName,
      brokerId: args.brokerId,
      addresses: { serviceUrl: args.serviceUrl, httpUrl: args.httpUrl },
      config: clusterConfigOf(o.config),
      log: o.log,
      metrics: o.metrics,
      loadSource: () => ({
        ...args.load(),
        bundles: bundleLoads(started.ownedBundles(), args.topicLoads()),
      }),
      namespaceExists: async (tenant, namespace) =>
        (await o.policyStore.getPolicies({ tenant, namespace })) !== undefined,
      initialBoundaries,
    });
    svc = started;
    return {
      lookupTopic: (topic, opts) => started.lookupTopic(topic, opts),
      checkOwnership: (topic) => started.checkOwnership(topic),
      onBundleUnload: (handler) => started.onBundleUnload(handler),
      close: () => started.close(),
    };
  };

  // Bundle operations on a namespace that does not exist must not create boundaries for it.
  const existing = async (ns: NamespaceName) => {
    await requirePolicies(o.policyStore, ns);
    return ns;
  };
  const bundleOps = () =>
    clusterBundleHook(running(), {
      maxBundlesPerNamespace: o.config.maxNamespaceBundles,
      settleTimeoutMs: o.config.unloadTimeoutMs + o.config.lookupWaitForOwnerMs,
    });
  const bundles: BundleHook = {
    bundles: async (ns) => bundleOps().bundles(await existing(ns)),
    unloadBundle: async (ns, bundle, destinationBroker) =>
      bundleOps().unloadBundle(await existing(ns), bundle, destinationBroker || undefined),
    splitBundle: async (ns, bundle, req, unload) =>
      bundleOps().splitBundle(await existing(ns), bundle, req, unload),
    namespaceCreated: async (ns, data) => {
      const stored = await initNamespaceBundles(os, ns.tenant, ns.namespace, {
        boundaries: checkBoundaries(data),
      });
      if (!stored)
        o.log.warn(
          { namespace: formatNamespace(ns) },
          'new namespace found bundle boundaries already stored',
        );
      svc?.boundaries.invalidate(ns.tenant, ns.namespace);
    },
    namespaceDeleted: async (ns) => {
      await deleteNamespaceBundles(os, ns.tenant, ns.namespace);
      svc?.boundaries.invalidate(ns.tenant, ns.namespace);
    },
  };

  const admin: ClusterAdminHooks = {
    ownership: {
      ownerOf: async (topic) => clusterOwnershipHook(running()).ownerOf(topic),
      lookup: async (topic, authoritative) => clusterOwnershipHook(running()).lookup(topic, authoritative),
    },
    bundles,
    brokers: {
      activeBrokers: async (cluster) => clusterBrokerRegistry(running()).activeBrokers(cluster),
      leader: async () => clusterBrokerRegistry(running()).leader(),
      ownedNamespaces: async (cluster, brokerId) =>
        clusterBrokerRegistry(running()).ownedNamespaces(cluster, brokerId),
    },
  };
  return { ownership, admin, service: () => svc };
}
