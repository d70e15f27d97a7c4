/**
 * Hooks for a broker that is alone (or before cluster ownership exists): it owns every topic, its
 * namespace bundles are the namespace document's, and it is the only and leading broker. The
 * cluster layer replaces these with ownership-aware implementations.
 */
import type { SplitRequest } from '../../../lib/cluster/bundle-range.ts';
import { bundleForTopic, findBundle, splitBundle } from '../../../lib/policies/bundles.ts';
import {
  formatNamespace,
  type NamespaceName,
  parseTopicName,
  TOPIC_DOMAINS,
} from '../../../lib/policies/names.ts';
import { requirePolicies, updatePolicies } from '../../../lib/policies/namespaces.ts';
import type { PolicyStore } from '../../../lib/policies/store.ts';
import type { BundlesData } from '../../../lib/policies/types.ts';
import type {
  BrokerIdentity,
  BrokerRegistry,
  BundleHook,
  LookupData,
  OwnedBundleStatus,
  OwnershipHook,
  TopicAdminOps,
} from './deps.ts';

export function localOwnership(identity: BrokerIdentity): OwnershipHook {
  // Read the identity on every call: a broker learns its web URL only once its HTTP port is bound.
  const data = (): LookupData => ({
    brokerUrl: identity.brokerServiceUrl,
    httpUrl: identity.webServiceUrl,
    nativeUrl: identity.brokerServiceUrl,
  });
  return {
    ownerOf: async () => ({ local: true }),
    lookup: async () => data(),
  };
}

export function documentBundles(policies: PolicyStore, topics?: TopicAdminOps): BundleHook {
  async function unloadTopicsIn(
    ns: NamespaceName,
    bundles: BundlesData,
    names: readonly string[],
  ): Promise<void> {
    if (!topics) return; // no data path here: nothing is loaded, nothing to unload
    for (const domain of TOPIC_DOMAINS) {
      for (const full of await topics.listTopics(ns, domain)) {
        if (names.includes(bundleForTopic(bundles, full).name))
          await topics.unloadTopic(parseTopicName(full));
      }
    }
  }
  return {
    bundles: async (ns) => (await requirePolicies(policies, ns)).bundles,
    unloadBundle: async (ns, bundle) => {
      const { bundles } = await requirePolicies(policies, ns);
      findBundle(bundles, bundle, formatNamespace(ns));
      await unloadTopicsIn(ns, bundles, [bundle]);
    },
    splitBundle: async (ns, bundle, req: SplitRequest, unload) => {
      const { bundles, children } = await updatePolicies(policies, ns, (p) => {
        const res = splitBundle(p.bundles, bundle, {
          maxBundles: policies.defaults.maxNamespaceBundles,
          namespace: formatNamespace(ns),
          request: req,
        });
        p.bundles = res.bundles;
        return res;
      });
      if (unload)
        await unloadTopicsIn(
          ns,
          bundles,
          children.map((c) => c.name),
        );
      return bundles;
    },
  };
}

export function localRegistry(identity: BrokerIdentity, policies: PolicyStore): BrokerRegistry {
  return {
    activeBrokers: async () => [identity.brokerId],
    leader: async () => ({ serviceUrl: identity.webServiceUrl, brokerId: identity.brokerId }),
    ownedNamespaces: async (_cluster, brokerId) => {
      const out: Record<string, OwnedBundleStatus> = {};
      if (brokerId !== identity.brokerId) return out;
      for (const tenant of await policies.listTenants()) {
        for (const ns of await policies.listNamespaces(tenant)) {
          const [t, n] = ns.split('/');
          const p = await policies.getPolicies({ tenant: t, namespace: n });
          if (!p) continue;
          for (let i = 0; i < p.bundles.numBundles; i++) {
            const name = `${ns}/${p.bundles.boundaries[i]}_${p.bundles.boundaries[i + 1]}`;
            out[name] = { broker_assignment: 'shared', is_controlled: false, is_active: true };
          }
        }
      }
      return out;
    },
  };
}
