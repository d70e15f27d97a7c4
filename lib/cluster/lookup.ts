/**
 * Topic lookup as any broker answers it (internals.md §5.3; pulsar-protocol.md §2.6):
 * the topic hashes into a bundle of its namespace; an owned bundle answers Connect with the
 * owner's URLs (authoritative); a free bundle is first assigned by load (to this broker when the
 * request is authoritative, since the asker was sent here to take it) and the lookup waits for the
 * chosen broker to claim it; a bundle in flight is waited for, bounded. Orphans (owner or
 * destination gone) are freed on the way. If the chosen broker does not claim in time, the answer
 * is Redirect to it with authoritative=true, which makes it claim when the client asks it.
 * One-hop clients (pulsar-flex) connect to whatever URL comes back; a producer or consumer
 * arriving at the destination claims there too (OwnershipService.checkOwnership).
 */
import type { BrokerRegistration } from '../gen/magnetar/cluster/v1/cluster_pb.ts';
import type { Logger } from '../log/index.ts';
import type { BundleActions } from './actions.ts';
import { findRange, formatRange, topicHash } from './bundle-range.ts';
import { brokerLoadViews } from './cluster-load.ts';
import type { PlacementConfig } from './config.ts';
import { ClusterErrors } from './errors.ts';
import type { BoundariesCache } from './namespace-bundles.ts';
import { BundleStates, isOrphan, ownerBound } from './ownership-state.ts';
import { type BundleId, bundleName, type StoredBundle } from './ownership-store.ts';
import { chooseBroker } from './placement.ts';
import { parseTopicName, type TopicName } from './topic-name.ts';

export interface LookupResult {
  readonly brokerServiceUrl: string;
  readonly brokerServiceUrlTls: string;
  readonly httpUrl: string;
  readonly httpUrlTls: string;
  /** CommandLookupTopicResponse.authoritative */
  readonly authoritative: boolean;
  /** true: LookupType.Redirect (ask that broker again); false: LookupType.Connect. */
  readonly redirect: boolean;
  /** Always false: no proxy in front of the brokers. */
  readonly proxyThroughServiceUrl: false;
  readonly brokerId: string;
  /** tenant/namespace/0xLLLLLLLL_0xUUUUUUUU */
  readonly bundle: string;
}

export interface LookupOptions {
  readonly authoritative?: boolean;
}

export interface LookupHost {
  readonly brokerId: string;
  readonly log: Logger;
  readonly actions: BundleActions;
  readonly boundaries: BoundariesCache;
  readonly config: PlacementConfig & { lookupMaxAttempts: number; lookupWaitForOwnerMs: number };
  readonly namespaceExists?: (tenant: string, namespace: string) => Promise<boolean>;
  /** Is this broker able to take bundles now (running, session alive, not draining)? */
  acceptingBundles(): boolean;
  /** This broker's own registration as it would be advertised. */
  selfRegistration(): BrokerRegistration;
  /** Claim a bundle assigned to this broker; true when this broker owns it afterwards. */
  claim(id: BundleId, taken: StoredBundle): Promise<boolean>;
  /** Resolves true on the next change of the bundle in the view, false after `timeoutMs`. */
  waitForChange(id: BundleId, timeoutMs: number): Promise<boolean>;
  /** Assignments made here that the view may not show yet, per broker. */
  pendingAssignments(): ReadonlyMap<string, number>;
  notePendingAssignment(id: BundleId, brokerId: string): void;
}

export async function bundleOfTopic(host: Pick<LookupHost, 'boundaries'>, topic: TopicName) {
  const b = await host.boundaries.get(topic.tenant, topic.namespace);
  const range = findRange(b.value, topicHash(topic.full));
  return {
    id: { tenant: topic.tenant, namespace: topic.namespace, range } as BundleId,
    boundariesVersion: b.version,
  };
}

export async function lookupTopic(
  host: LookupHost,
  topicName: string,
  opts: LookupOptions = {},
): Promise<LookupResult> {
  const topic = parseTopicName(topicName);
  if (host.namespaceExists && !(await host.namespaceExists(topic.tenant, topic.namespace))) {
    throw ClusterErrors.make('NAMESPACE_NOT_FOUND', { namespace: `${topic.tenant}/${topic.namespace}` });
  }
  const { actions } = host;
  let lastState = 'unknown';
  for (let attempt = 1; attempt <= host.config.lookupMaxAttempts; attempt++) {
    const { id, boundariesVersion } = await bundleOfTopic(host, topic);
    const s = await actions.current(id);
    const r = s.record;
    lastState = r?.state ?? BundleStates.Free;
    if (
      r &&
      isOrphan({ record: r, ownerKey: s.ownerKey, registered: actions.view.isRegistered, nowMs: Date.now() })
    ) {
      await actions.free(id, s, 'orphan');
      continue;
    }
    switch (r?.state ?? BundleStates.Free) {
      case BundleStates.Owned: {
        const reg = registrationOf(host, r!.owner);
        if (ownerBound(r, s.ownerKey) && reg) return answer(reg, id, false);
        // The owner key of this term has not reached the view yet: read the store.
        await actions.fresh(id);
        continue;
      }
      case BundleStates.Assigning: {
        if (r!.destination === host.brokerId) {
          if (await host.claim(id, s)) return answer(host.selfRegistration(), id, false);
          continue;
        }
        const done = await settle(host, id, r!.destination);
        if (done) return done;
        const reg = registrationOf(host, r!.destination);
        if (reg) return answer(reg, id, true);
        continue;
      }
      case BundleStates.Releasing:
      case BundleStates.Splitting: {
        if (!(await host.waitForChange(id, host.config.lookupWaitForOwnerMs))) {
          throw ClusterErrors.make('BUNDLE_IN_TRANSITION', { bundle: bundleName(id), state: lastState });
        }
        if (r!.state === BundleStates.Splitting) host.boundaries.invalidate(id.tenant, id.namespace);
        continue;
      }
      default: {
        const destination =
          opts.authoritative && host.acceptingBundles() ? host.brokerId : pick(host, id, r?.previousOwner);
        const res = await actions.assign(
          id,
          s,
          destination,
          'lookup',
          s.recordVersion === undefined ? boundariesVersion : undefined,
        );
        if (!res.ok) {
          // A record created from cached boundaries may have lost to a split: re-read them.
          if (s.recordVersion === undefined) host.boundaries.invalidate(id.tenant, id.namespace);
          continue;
        }
        const seen = actions.view.bundle(id);
        if (seen === 'uncached' || (seen.recordVersion ?? 0) < res.version)
          host.notePendingAssignment(id, destination);
        if (destination === host.brokerId) {
          const now = await actions.current(id);
          if (await host.claim(id, now)) return answer(host.selfRegistration(), id, false);
        }
      }
    }
  }
  throw ClusterErrors.make('LOOKUP_CONTENDED', {
    topic: topic.full,
    attempts: host.config.lookupMaxAttempts,
    state: lastState,
  });
}

/** Wait for the destination to claim; Connect to it once it owns the bundle. */
async function settle(
  host: LookupHost,
  id: BundleId,
  destination: string,
): Promise<LookupResult | undefined> {
  const deadline = Date.now() + host.config.lookupWaitForOwnerMs;
  for (;;) {
    const s = await host.actions.current(id);
    const r = s.record;
    if (r?.state === BundleStates.Owned && ownerBound(r, s.ownerKey)) {
      const reg = registrationOf(host, r.owner);
      return reg ? answer(reg, id, false) : undefined;
    }
    if (r?.state !== BundleStates.Assigning || r.destination !== destination) return undefined;
    if (!host.actions.view.isRegistered(destination)) return undefined;
    const left = deadline - Date.now();
    if (left <= 0 || !(await host.waitForChange(id, left))) return undefined;
  }
}

function pick(host: LookupHost, id: BundleId, avoid: string | undefined): string {
  const brokers = brokerLoadViews(host.actions.view).filter(
    (b) => b.id !== host.brokerId || host.acceptingBundles(),
  );
  const chosen = chooseBroker(brokers, bundleName(id), host.config, {
    overloadThreshold: host.config.overloadThreshold,
    scoreTolerance: host.config.placementScoreTolerance,
    avoid: avoid || undefined,
    pending: host.pendingAssignments(),
  });
  if (chosen) return chosen;
  if (host.acceptingBundles()) return host.brokerId;
  throw ClusterErrors.make('NO_BROKERS', { bundle: bundleName(id) });
}

function registrationOf(host: LookupHost, brokerId: string): BrokerRegistration | undefined {
  return brokerId === host.brokerId ? host.selfRegistration() : host.actions.view.broker(brokerId);
}

function answer(reg: BrokerRegistration, id: BundleId, redirect: boolean): LookupResult {
  return {
    brokerServiceUrl: reg.serviceUrl,
    brokerServiceUrlTls: reg.serviceUrlTls,
    httpUrl: reg.httpUrl,
    httpUrlTls: reg.httpUrlTls,
    authoritative: true,
    redirect,
    proxyThroughServiceUrl: false,
    brokerId: reg.brokerId,
    bundle: `${id.tenant}/${id.namespace}/${formatRange(id.range)}`,
  };
}
