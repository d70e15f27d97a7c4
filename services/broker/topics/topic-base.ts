/**
 * What persistent and non-persistent topics share: producer admission (access modes, limits,
 * WaitForExclusive promotion), the publish and subscribe rates, inbound counters and the closed
 * state.
 */
import type { TopicName } from '../../../lib/wire/topic-name.ts';
import type { BrokerConfig } from '../config.ts';
import { brokerErrors } from '../errors.ts';
import type { TopicPolicies } from '../policies.ts';
import type { PublisherStats } from '../service.ts';
import { ProducerSet } from './producer-set.ts';
import { TrafficMeter } from './rates.ts';
import { PublishThrottle, SubscribeRateGate } from './throttles.ts';
import type { ProducerEndpoint, TopicCounters } from './topic.ts';

export interface TopicLimits {
  readonly maxProducers: number;
  readonly maxConsumers: number;
  readonly maxSubscriptions: number;
  readonly maxConsumersPerSubscription: number;
  /** Consumer identities whose subscribe rate is tracked. */
  readonly maxSubscribeRateEntries: number;
}

/** A policy limit (0 = none) under the broker's hard limit. */
export function cappedLimit(policy: number, hard: number): number {
  return policy > 0 ? Math.min(policy, hard) : hard;
}

/** The limits of a topic: policy values (0 = no policy limit) under the broker's hard limits. */
export function topicLimits(policies: TopicPolicies, config: BrokerConfig): TopicLimits {
  return {
    maxProducers: cappedLimit(policies.maxProducersPerTopic, config.maxProducersPerTopicLimit),
    maxConsumers: cappedLimit(policies.maxConsumersPerTopic, config.maxConsumersPerTopicLimit),
    maxSubscriptions: config.maxSubscriptionsPerTopic,
    maxConsumersPerSubscription: config.maxConsumersPerSubscription,
    maxSubscribeRateEntries: config.maxSubscribeRateEntriesPerTopic,
  };
}

const UNLIMITED = { msgs: 0, bytes: 0, periodMs: 1000 };

export abstract class TopicBase {
  readonly name: TopicName;
  protected limits: TopicLimits;
  protected readonly producers = new ProducerSet();
  readonly publishThrottle = new PublishThrottle(UNLIMITED, () => this.producers.all());
  protected readonly subscribeGate: SubscribeRateGate;
  private readonly promotions = new Map<number, () => void>();
  readonly in = new TrafficMeter();
  readonly perProducerIn = new Map<number, TrafficMeter>();
  protected isClosed = false;

  constructor(name: TopicName, limits: TopicLimits) {
    this.name = name;
    this.limits = limits;
    this.subscribeGate = new SubscribeRateGate(name.full, UNLIMITED, limits.maxSubscribeRateEntries);
  }

  /** Limits and rates (at load and on every policy change); existing attachments stay. */
  protected applyCommonPolicies(policies: TopicPolicies, limits: TopicLimits): void {
    this.limits = limits;
    this.publishThrottle.update(policies.publishRate);
    this.subscribeGate.update(policies.subscribeRate);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Producer/consumer counts and traffic rates, shared by both kinds of topic. */
  protected countersOf(subscriptions: Iterable<{ consumerCount: number }>, out: TrafficMeter): TopicCounters {
    let consumers = 0;
    for (const s of subscriptions) consumers += s.consumerCount;
    return {
      producers: this.producers.size,
      consumers,
      msgRateIn: this.in.msgs.rate(),
      msgRateOut: out.msgs.rate(),
      bytesInPerSec: this.in.bytes.rate(),
      bytesOutPerSec: out.bytes.rate(),
    };
  }

  protected checkOpen(): void {
    if (this.isClosed) throw brokerErrors.make('TOPIC_CLOSED', { topic: this.name.full });
  }

  /** Admit a producer; returns a promise resolving when it may send (WaitForExclusive). */
  protected admitProducer(p: ProducerEndpoint): Promise<void> | undefined {
    this.checkOpen();
    const decision = this.producers.add(p, this.limits.maxProducers);
    if (!decision.ok) throw brokerErrors.make(decision.code, { ...decision.details, topic: this.name.full });
    for (const f of decision.fenced) {
      this.dropProducer(f);
      f.closeByBroker();
    }
    this.perProducerIn.set(p.id, new TrafficMeter());
    this.publishThrottle.added(p);
    if (!decision.waiting) return undefined;
    return new Promise<void>((resolve) => this.promotions.set(p.id, resolve));
  }

  removeProducer(p: ProducerEndpoint): void {
    this.dropProducer(p);
  }

  protected isActiveProducer(p: ProducerEndpoint): boolean {
    return this.producers.isActive(p);
  }

  /** A SEND reached the topic: account it against the publish rate (pauses producers when over). */
  protected publishArrived(msgs: number, bytes: number): void {
    this.publishThrottle.record(msgs, bytes);
  }

  protected countIn(p: ProducerEndpoint, msgs: number, bytes: number): void {
    this.in.add(msgs, bytes);
    this.perProducerIn.get(p.id)?.add(msgs, bytes);
  }

  protected publisherStats(): PublisherStats[] {
    return this.producers.all().map((p) => {
      const s = p.stats();
      const m = this.perProducerIn.get(p.id);
      if (m) {
        s.msgRateIn = m.msgs.rate();
        s.msgThroughputIn = m.bytes.rate();
        s.averageMsgSize = m.msgs.total > 0 ? m.bytes.total / m.msgs.total : 0;
      }
      return s;
    });
  }

  /** Close every producer (broker-initiated). */
  protected closeProducers(): void {
    this.publishThrottle.close();
    for (const p of [...this.producers.all(), ...this.producers.waiting()]) {
      this.dropProducer(p);
      p.closeByBroker();
    }
  }

  private dropProducer(p: ProducerEndpoint): void {
    this.publishThrottle.removed(p);
    this.perProducerIn.delete(p.id);
    this.promotions.delete(p.id);
    for (const promoted of this.producers.remove(p)) {
      const resolve = this.promotions.get(promoted.id);
      this.promotions.delete(promoted.id);
      resolve?.();
    }
  }
}
