/**
 * The broker front's policy interface (services/broker/policies.ts `PolicyProvider`) answered from
 * the PolicyStore: topic → namespace → broker-default resolution, namespace auto-creation rules,
 * partitioned metadata in the configuration store. Structurally typed (no import of the broker),
 * so the broker passes `new PolicyStoreProvider(store)` as its `policies` dependency. `effective`
 * gives the full EffectivePolicies (rates, backlog quotas, TTL...) for enforcement.
 */
import { policyErrors } from './errors.ts';
import { decideAutoTopicCreation } from './lifecycle.ts';
import { parseTopicName, partitionedParent, type TopicName } from './names.ts';
import { createPartitionedTopic, deletePartitionedTopic } from './partitioned.ts';
import { dispatchLimit, publishLimit, type RateLimit, subscribeLimit } from './rate-limiter.ts';
import type { EffectivePolicies } from './resolve.ts';
import type { PolicyStore } from './store.ts';
import type { BacklogQuota, BacklogQuotaType } from './types.ts';

/** The parts of lib/wire's TopicName this adapter reads. */
export interface WireTopicName {
  readonly full: string;
}

export interface BrokerTopicPolicies {
  readonly deduplicationEnabled: boolean;
  readonly ensembleSize: number;
  readonly writeQuorum: number;
  readonly ackQuorum: number;
  /** -1 = unlimited, 0 = delete once consumed. */
  readonly retentionTimeMs: number;
  readonly retentionSizeBytes: number;
  /** 0 = no limit. */
  readonly maxProducersPerTopic: number;
  readonly maxConsumersPerTopic: number;
  /** 0 = messages never expire. */
  readonly messageTtlSeconds: number;
  readonly backlogQuotas: Partial<Record<BacklogQuotaType, BacklogQuota>>;
  readonly publishRate: RateLimit;
  readonly dispatchRate: RateLimit;
  readonly subscriptionDispatchRate: RateLimit;
  readonly subscribeRate: RateLimit;
  /** 0 = subscriptions never expire. */
  readonly subscriptionExpirationTimeMinutes: number;
}

const MB = 1024 * 1024;

/** The broker's view of resolved policies (units converted, rates as RateLimit). */
export function brokerTopicPolicies(e: EffectivePolicies): BrokerTopicPolicies {
  const { retentionTimeInMinutes: time, retentionSizeInMB: size } = e.retention;
  return {
    deduplicationEnabled: e.deduplicationEnabled,
    ensembleSize: e.persistence.bookkeeperEnsemble,
    writeQuorum: e.persistence.bookkeeperWriteQuorum,
    ackQuorum: e.persistence.bookkeeperAckQuorum,
    retentionTimeMs: time < 0 ? -1 : time * 60_000,
    retentionSizeBytes: size < 0 ? -1 : size * MB,
    maxProducersPerTopic: e.maxProducersPerTopic,
    maxConsumersPerTopic: e.maxConsumersPerTopic,
    messageTtlSeconds: e.messageTtlSeconds,
    backlogQuotas: { ...e.backlogQuotas },
    publishRate: publishLimit(e.publishRate),
    dispatchRate: dispatchLimit(e.dispatchRate),
    subscriptionDispatchRate: dispatchLimit(e.subscriptionDispatchRate),
    subscribeRate: subscribeLimit(e.subscribeRate),
    subscriptionExpirationTimeMinutes: e.subscriptionExpirationTimeMinutes,
  };
}

export class PolicyStoreProvider {
  readonly store: PolicyStore;

  constructor(store: PolicyStore) {
    this.store = store;
  }

  private name(topic: WireTopicName): TopicName {
    return parseTopicName(topic.full);
  }

  /** Everything enforceable for a topic (partitions inherit their parent's topic policies). */
  async effective(topic: WireTopicName): Promise<EffectivePolicies> {
    const t = this.name(topic);
    return this.store.effectivePolicies(t, partitionedParent(t));
  }

  async topicPolicies(topic: WireTopicName): Promise<BrokerTopicPolicies> {
    return brokerTopicPolicies(await this.effective(topic));
  }

  async autoCreation(
    topic: WireTopicName,
  ): Promise<{ allowed: false } | { allowed: true; partitions: number }> {
    const t = this.name(topic);
    const ns = await this.store.getPolicies(t);
    if (!ns) return { allowed: false };
    const d = decideAutoTopicCreation(t, ns.autoTopicCreationOverride, this.store.defaults);
    return d.create ? { allowed: true, partitions: d.partitions } : { allowed: false };
  }

  async partitions(topic: WireTopicName): Promise<number | undefined> {
    const n = (await this.store.getPartitionedMetadata(partitionedParent(this.name(topic)))).partitions;
    return n > 0 ? n : undefined;
  }

  async createPartitionedMetadata(topic: WireTopicName, partitions: number): Promise<void> {
    try {
      await createPartitionedTopic(this.store, partitionedParent(this.name(topic)), partitions);
    } catch (err) {
      // Created concurrently by another broker or the admin API: theirs stands.
      if (!policyErrors.is(err, 'PARTITIONED_TOPIC_EXISTS')) throw err;
    }
  }

  async deletePartitionedMetadata(topic: WireTopicName): Promise<void> {
    try {
      await deletePartitionedTopic(this.store, partitionedParent(this.name(topic)));
    } catch (err) {
      if (!policyErrors.is(err, 'PARTITIONED_TOPIC_NOT_FOUND')) throw err;
    }
  }

  async namespaceExists(tenant: string, namespace: string): Promise<boolean> {
    return (await this.store.getPolicies({ tenant, namespace }).catch(() => undefined)) !== undefined;
  }
}
