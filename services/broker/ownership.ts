/**
 * Topic ownership as the broker front needs it: lookups answered by the cluster (Connect to the
 * owner, or Redirect), a check before a topic is loaded here, and bundle unloads that close the
 * topics of a released bundle. lib/cluster's OwnershipService provides it (main.ts wires it);
 * without one every topic is served by this broker.
 */
import type { TopicCounters } from './topics/topic.ts';

export interface OwnershipLookup {
  readonly redirect: boolean;
  readonly brokerServiceUrl: string;
  readonly brokerServiceUrlTls: string;
  readonly authoritative: boolean;
}

export interface OwnedBundle {
  /** Does this full topic name belong to the bundle? */
  contains(topicFullName: string): boolean;
}

export interface TopicOwnership {
  lookupTopic(topic: string, opts: { authoritative: boolean }): Promise<OwnershipLookup>;
  /** Resolves when this broker owns the topic's bundle; rejects (NOT_OWNER → ServiceNotReady) otherwise. */
  checkOwnership(topic: string): Promise<unknown>;
  onBundleUnload(handler: (bundle: OwnedBundle, reason: string) => Promise<void> | void): () => void;
  /** Release every bundle (through the unload handlers) and leave the cluster. */
  close(): Promise<void>;
}

/** What the broker reports about itself for load balancing. */
export interface BrokerLoad extends TopicCounters {
  readonly topics: number;
  readonly connections: number;
}

/** One loaded topic's traffic, for the per-bundle part of the load report. */
export interface TopicLoad extends TopicCounters {
  /** Full name: persistent://tenant/ns/local */
  readonly topic: string;
}

export interface OwnershipStartArgs {
  readonly brokerId: string;
  readonly serviceUrl: string;
  readonly httpUrl: string;
  readonly load: () => BrokerLoad;
  /** Every loaded topic with its traffic (grouped by bundle for the load report). */
  readonly topicLoads: () => readonly TopicLoad[];
}

/** Started by startBroker once its ports are bound (the addresses are known). */
export type OwnershipFactory = (args: OwnershipStartArgs) => Promise<TopicOwnership>;

/**
 * What a broker that will join a cluster serves while the ownership service starts (its ports
 * are bound first, because the registration names them): nothing. LOOKUP and topic loads answer
 * ServiceNotReady, so a client that reaches it early looks up again instead of being served by
 * a broker that owns nothing yet.
 */
export function joiningOwnership(notReady: () => Error): TopicOwnership {
  return {
    lookupTopic: () => Promise.reject(notReady()),
    checkOwnership: () => Promise.reject(notReady()),
    onBundleUnload: () => () => undefined,
    close: () => Promise.resolve(),
  };
}
