/**
 * The policy facts the broker front needs, behind one small interface: dedup on/off, storage
 * replication (E/Qw/Qa), retention, per-topic limits, TTL, backlog quotas, rates, subscription
 * expiry, auto topic creation, and partitioned-topic metadata. `ConfigPolicies` answers from
 * broker configuration (the policy defaults, resolved by lib/policies as for a namespace that
 * sets nothing) and keeps partitioned metadata in the metadata store (Pulsar's
 * `{"partitions": N}` JSON at keys.partitionedTopic) when one is configured, in memory otherwise.
 * lib/policies' PolicyStoreProvider plugs in through the same interface.
 */
import { partitionedTopic } from '../../lib/metadata/keys.ts';
import type { MetadataStore } from '../../lib/metadata/store.ts';
import { type BrokerTopicPolicies, brokerTopicPolicies } from '../../lib/policies/broker-provider.ts';
import { type PolicyDefaults, policyDefaultsSpec } from '../../lib/policies/defaults.ts';
import { resolvePolicies } from '../../lib/policies/resolve.ts';
import type { TopicName } from '../../lib/wire/topic-name.ts';
import type { BrokerConfig } from './config.ts';

/**
 * Everything enforced per topic: `maxProducersPerTopic` / `maxConsumersPerTopic` 0 = no policy
 * limit (the broker's hard limit still applies); retention -1 = unlimited, 0 = delete once
 * consumed; rates <= 0 = unlimited; TTL and subscription expiration 0 = off.
 */
export type TopicPolicies = BrokerTopicPolicies;

export type AutoCreation =
  | { readonly allowed: false }
  | { readonly allowed: true; readonly partitions: number };

export interface PolicyProvider {
  topicPolicies(topic: TopicName): Promise<TopicPolicies>;
  /** May `topic` be created on first use, and with how many partitions (0 = non-partitioned)? */
  autoCreation(topic: TopicName): Promise<AutoCreation>;
  /** Partition count recorded for the (base) topic, undefined when it is not partitioned. */
  partitions(topic: TopicName): Promise<number | undefined>;
  createPartitionedMetadata(topic: TopicName, partitions: number): Promise<void>;
  deletePartitionedMetadata(topic: TopicName): Promise<void>;
  /** False when the namespace is known not to exist. */
  namespaceExists(tenant: string, namespace: string): Promise<boolean>;
}

export class ConfigPolicies implements PolicyProvider {
  private readonly config: BrokerConfig;
  private readonly store: MetadataStore | undefined;
  private readonly memory = new Map<string, number>();

  constructor(config: BrokerConfig, store?: MetadataStore) {
    this.config = config;
    this.store = store;
  }

  async topicPolicies(): Promise<TopicPolicies> {
    const c = this.config as unknown as Record<string, unknown>;
    const defaults = Object.fromEntries(Object.keys(policyDefaultsSpec).map((k) => [k, c[k]]));
    return brokerTopicPolicies(
      resolvePolicies(defaults as PolicyDefaults, this.config.clusterName, undefined),
    );
  }

  async autoCreation(topic: TopicName): Promise<AutoCreation> {
    if (!this.config.allowAutoTopicCreation) return { allowed: false };
    if (topic.partitionIndex >= 0 || this.config.allowAutoTopicCreationType === 'non-partitioned') {
      return { allowed: true, partitions: 0 };
    }
    return { allowed: true, partitions: this.config.defaultNumPartitions };
  }

  async partitions(topic: TopicName): Promise<number | undefined> {
    const key = this.key(topic);
    if (!this.store) return this.memory.get(key);
    const entry = await this.store.get(key);
    if (!entry) return undefined;
    const parsed = JSON.parse(Buffer.from(entry.value).toString('utf8')) as { partitions?: unknown };
    return typeof parsed.partitions === 'number' && parsed.partitions > 0 ? parsed.partitions : undefined;
  }

  async createPartitionedMetadata(topic: TopicName, partitions: number): Promise<void> {
    const key = this.key(topic);
    if (!this.store) {
      if (!this.memory.has(key)) this.memory.set(key, partitions);
      return;
    }
    const value = Buffer.from(JSON.stringify({ partitions }));
    try {
      await this.store.put(key, value, { expectedVersion: 'absent' });
    } catch (err) {
      // Created concurrently by another broker or the admin API: theirs stands.
      if ((err as { code?: string }).code !== 'KEY_EXISTS') throw err;
    }
  }

  async deletePartitionedMetadata(topic: TopicName): Promise<void> {
    const key = this.key(topic);
    if (!this.store) this.memory.delete(key);
    else await this.store.delete(key);
  }

  async namespaceExists(): Promise<boolean> {
    return true;
  }

  private key(topic: TopicName): string {
    const base = topic.partitionedName.slice(topic.partitionedName.lastIndexOf('/') + 1);
    return partitionedTopic(topic.tenant, topic.namespace, topic.domain, base);
  }
}
