/**
 * What the admin API (services/broker/admin) calls on a clustered broker, shaped like its hooks
 * (deps.ts: OwnershipHook, BundleHook, BrokerRegistry) without importing them:
 *
 *   ownership: clusterOwnershipHook(svc)   bundles: clusterBundleHook(svc, opts)
 *   brokers:   clusterBrokerRegistry(svc)  and httpLookup(svc, ...) for GET /lookup/v2/topic/...
 *
 * Bundle boundaries and ownership come from lib/cluster's records, not from the namespace
 * document, so they reflect splits.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { CoordinatorCandidateSchema } from '../gen/magnetar/cluster/v1/cluster_pb.ts';
import { isMagnetarError } from '../errors/index.ts';
import { Election } from '../metadata/election.ts';
import * as keys from '../metadata/keys.ts';
import { requestUnload, splitBundle, waitSettled } from './bundle-ops.ts';
import {
  formatBoundary,
  isRangeOf,
  parseRange,
  rangesOf,
  type SplitRequest,
  topicHash,
} from './bundle-range.ts';
import { ClusterErrors } from './errors.ts';
import type { LookupResult } from './lookup.ts';
import { BundleStates, ownerBound } from './ownership-state.ts';
import type { OwnershipService } from './ownership-service.ts';
import type { BundleId } from './ownership-store.ts';

interface Ns {
  readonly tenant: string;
  readonly namespace: string;
}
interface Topic extends Ns {
  readonly full: string;
}

/** Pulsar's BundlesData. */
export interface BundlesData {
  boundaries: string[];
  numBundles: number;
}

/** Pulsar's LookupData. */
export interface LookupData {
  brokerUrl: string;
  brokerUrlTls?: string;
  httpUrl: string;
  httpUrlTls?: string;
  nativeUrl: string;
}

export function toLookupData(r: LookupResult): LookupData {
  return {
    brokerUrl: r.brokerServiceUrl,
    brokerUrlTls: r.brokerServiceUrlTls || undefined,
    httpUrl: r.httpUrl,
    httpUrlTls: r.httpUrlTls || undefined,
    nativeUrl: r.brokerServiceUrl,
  };
}

function bundlesData(boundaries: readonly number[]): BundlesData {
  return { boundaries: boundaries.map(formatBoundary), numBundles: boundaries.length - 1 };
}

async function bundleId(svc: OwnershipService, ns: Ns, bundle: string): Promise<BundleId> {
  const range = parseRange(bundle);
  const b = await svc.boundaries.get(ns.tenant, ns.namespace);
  if (!isRangeOf(b.value, range)) {
    svc.boundaries.invalidate(ns.tenant, ns.namespace);
    const fresh = await svc.boundaries.get(ns.tenant, ns.namespace);
    if (!isRangeOf(fresh.value, range)) {
      throw ClusterErrors.make('BUNDLE_NOT_FOUND', {
        bundle,
        namespace: `${ns.tenant}/${ns.namespace}`,
        boundaries: fresh.value.length - 1,
      });
    }
  }
  return { tenant: ns.tenant, namespace: ns.namespace, range };
}

export function clusterOwnershipHook(svc: OwnershipService) {
  return {
    /** Where admin requests for a topic run: here, or the owner's web service (307). */
    async ownerOf(topic: Topic): Promise<{ local: true } | { local: false; httpUrl: string }> {
      const r = await svc.lookupTopic(topic.full);
      return r.brokerId === svc.brokerId ? { local: true } : { local: false, httpUrl: r.httpUrl };
    },
    /** GET /lookup/v2/topic/...: the owner's URLs (assigning an owner first if needed). */
    async lookup(topic: Topic, authoritative: boolean): Promise<LookupData> {
      return toLookupData(await svc.lookupTopic(topic.full, { authoritative }));
    },
  };
}

export interface BundleHookOptions {
  /** Most bundles a namespace may be split into (Pulsar loadBalancerNamespaceMaximumBundles). */
  readonly maxBundlesPerNamespace: number;
  /** How long unload/split wait for the owner to finish (then they return anyway). */
  readonly settleTimeoutMs: number;
  /** Topic names of a namespace (for topic_count_equally_divide), when the broker can list them. */
  readonly listTopics?: (ns: Ns) => Promise<string[]>;
}

export function clusterBundleHook(svc: OwnershipService, opts: BundleHookOptions) {
  return {
    async bundles(ns: Ns): Promise<BundlesData> {
      svc.boundaries.invalidate(ns.tenant, ns.namespace);
      return bundlesData((await svc.boundaries.get(ns.tenant, ns.namespace)).value);
    },
    /** PUT .../{bundle}/unload[?destinationBroker=]: the owner closes the bundle's topics, then releases it. */
    async unloadBundle(ns: Ns, bundle: string, destinationBroker?: string): Promise<void> {
      const id = await bundleId(svc, ns, bundle);
      const outcome = await requestUnload(svc.actions, id, {
        destination: destinationBroker,
        reason: 'admin-unload',
        move: true,
      });
      if (outcome === 'released') await waitSettled(svc.actions, id, opts.settleTimeoutMs);
    },
    /** PUT .../{bundle}/split?unload=&splitAlgorithmName=: returns the namespace's new bundles. */
    async splitBundle(ns: Ns, bundle: string, req: SplitRequest, unload: boolean): Promise<BundlesData> {
      const id = await bundleId(svc, ns, bundle);
      let request = req;
      if (req.algorithm === 'topic_count_equally_divide' && !req.topicHashes && opts.listTopics) {
        request = { ...req, topicHashes: (await opts.listTopics(ns)).map(topicHash) };
      }
      const res = await splitBundle(svc.actions, id, request, opts.maxBundlesPerNamespace);
      svc.boundaries.invalidate(ns.tenant, ns.namespace);
      if (unload) {
        for (const range of res.children) {
          const child = { ...id, range };
          if (
            (await requestUnload(svc.actions, child, { reason: 'split-unload', move: true })) === 'released'
          )
            await waitSettled(svc.actions, child, opts.settleTimeoutMs);
        }
      }
      return bundlesData(res.boundaries);
    },
  };
}

export function clusterBrokerRegistry(svc: OwnershipService) {
  return {
    /** Ids of the registered brokers (use "host:webPort" ids for Pulsar-looking output). */
    async activeBrokers(_cluster?: string): Promise<string[]> {
      return svc.view
        .brokers()
        .map((b) => b.brokerId)
        .sort();
    },
    /** The coordinator leader (our load-manager leader). */
    async leader(): Promise<{ serviceUrl: string; brokerId: string } | undefined> {
      const info = await Election.leader(
        svc.os.store,
        keys.electionPrefix(svc.os.cluster, keys.ELECTIONS.coordinator),
      );
      if (!info) return undefined;
      try {
        const c = fromBinary(CoordinatorCandidateSchema, info.value);
        return { serviceUrl: c.httpUrl, brokerId: c.coordinatorId };
      } catch {
        return undefined;
      }
    },
    /** Bundles a broker owns: "tenant/ns/0x.._0x.." → status. */
    async ownedNamespaces(
      _cluster: string,
      brokerId: string,
    ): Promise<Record<string, { broker_assignment: 'shared'; is_controlled: boolean; is_active: boolean }>> {
      const out: Record<string, { broker_assignment: 'shared'; is_controlled: boolean; is_active: boolean }> =
        {};
      for (const [id, s] of svc.view.bundles()) {
        const r = s.record;
        if (!r || r.owner !== brokerId || !ownerBound(r, s.ownerKey)) continue;
        if (r.state !== BundleStates.Owned && r.state !== BundleStates.Releasing) continue;
        out[svc.formatBundle(id)] = {
          broker_assignment: 'shared',
          is_controlled: false,
          is_active: r.state === BundleStates.Owned,
        };
      }
      return out;
    },
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Framework-free handler of `GET /lookup/v2/topic/{domain}/{tenant}/{ns}/{topic}?authoritative=`:
 * 200 LookupData of the owner, or the error's HTTP status with Pulsar's `{"reason": ...}` body.
 */
export async function httpLookup(
  svc: OwnershipService,
  params: { domain: string; tenant: string; namespace: string; topic: string },
  query: { authoritative?: string | boolean },
): Promise<HttpAnswer> {
  const full = `${params.domain}://${params.tenant}/${params.namespace}/${params.topic}`;
  const authoritative = query.authoritative === true || query.authoritative === 'true';
  try {
    return { status: 200, body: toLookupData(await svc.lookupTopic(full, { authoritative })) };
  } catch (err) {
    if (isMagnetarError(err)) return { status: err.spec.http ?? 500, body: { reason: err.message } };
    return { status: 500, body: { reason: String((err as Error)?.message ?? err) } };
  }
}

/** The bundles of a namespace as Pulsar lists them (for callers holding only the service). */
export async function namespaceBundleNames(svc: OwnershipService, ns: Ns): Promise<string[]> {
  const b = await svc.boundaries.get(ns.tenant, ns.namespace);
  return rangesOf(b.value).map((r) => `${formatBoundary(r.lower)}_${formatBoundary(r.upper)}`);
}
