/**
 * Topic ownership as the broker front needs it: lookups answered by the cluster (Connect to the
 * owner, or Redirect), a check before a topic is loaded here, and bundle unloads that close the
 * topics of a released bundle. lib/cluster's OwnershipService provides it (main.ts wires it);
 * without one every topic is served by this broker.
 */

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
export interface BrokerLoad {
  readonly topics: number;
  readonly producers: number;
  readonly consumers: number;
  readonly connections: number;
  readonly msgRateIn: number;
  readonly msgRateOut: number;
  readonly bytesInPerSec: number;
  readonly bytesOutPerSec: number;
}

export interface OwnershipStartArgs {
  readonly brokerId: string;
  readonly serviceUrl: string;
  readonly httpUrl: string;
  readonly load: () => BrokerLoad;
}

/** Started by startBroker once its ports are bound (the addresses are known). */
export type OwnershipFactory = (args: OwnershipStartArgs) => Promise<TopicOwnership>;
