/**
 * BrokerService over the topic registry (services/broker/service.ts documents the contract).
 * Every topic is served by this broker until cluster ownership exists, so operations load the
 * topic here when needed.
 */
import {
  isTopicNameProblem,
  parseNamespaceName,
  parseTopicName,
  type TopicName,
} from '../../lib/wire/topic-name.ts';
import type { MessageId } from '../../lib/wire/message-id.ts';
import { brokerErrors } from './errors.ts';
import type { Position } from './managed-ledger/api.ts';
import type { BrokerContext } from './protocol/context.ts';
import type { BrokerInfo, BrokerService, LookupResult, PeekedMessage, TopicStats } from './service.ts';
import type { PersistentSubscription } from './subscriptions/persistent-subscription.ts';
import { asBuffer, firstPublishedAtOrAfter, previousPosition } from './topics/entries.ts';
import { seekPosition } from './topics/persistent-attachment.ts';
import { PersistentTopic } from './topics/persistent-topic.ts';
import type { Topic } from './topics/topic.ts';
import { isPayloadProblem, splitEntry } from '../../lib/wire/payload.ts';

const MAX_PEEK = 10_000;

export class BrokerServiceImpl implements BrokerService {
  private readonly ctx: BrokerContext;
  private readonly infoOf: () => BrokerInfo;

  constructor(ctx: BrokerContext, info: () => BrokerInfo) {
    this.ctx = ctx;
    this.infoOf = info;
  }

  get info(): BrokerInfo {
    return this.infoOf();
  }

  async lookup(topic: string): Promise<LookupResult> {
    name(topic);
    return { brokerUrl: this.ctx.brokerServiceUrl, httpUrl: this.ctx.webServiceUrl, local: true };
  }

  async listTopics(namespace: string, domain?: 'persistent' | 'non-persistent'): Promise<string[]> {
    const ns = parseNamespaceName(namespace);
    if ('kind' in ns) throw brokerErrors.make('INVALID_TOPIC_NAME', { detail: ns.detail });
    const out = new Set<string>();
    if (domain !== 'non-persistent')
      for (const t of await this.ctx.topics.listPersistent(ns.tenant, ns.namespace)) out.add(t);
    for (const t of this.ctx.topics.loadedTopics()) {
      if (t.name.tenant !== ns.tenant || t.name.namespace !== ns.namespace) continue;
      if (domain === undefined || domain === t.name.domain) out.add(t.name.full);
    }
    return [...out].sort();
  }

  listLoadedTopics(): string[] {
    return this.ctx.topics.loadedTopics().map((t) => t.name.full);
  }

  async createTopic(topic: string): Promise<void> {
    await this.ctx.topics.getTopic(name(topic), { create: true, explicit: true });
  }

  async deleteTopic(topic: string, force: boolean): Promise<void> {
    const n = name(topic);
    const loaded = this.ctx.topics.loadedTopic(n.full);
    if (loaded && !force) {
      const stats = await loaded.stats();
      const consumers = Object.values(stats.subscriptions).reduce((k, s) => k + s.consumers.length, 0);
      if (stats.publishers.length > 0 || consumers > 0) {
        throw brokerErrors.make('TOPIC_BUSY', {
          topic: n.full,
          what: `${stats.publishers.length} producers and ${consumers} consumers`,
        });
      }
    }
    await this.ctx.topics.unload(n.full);
    await this.ctx.topics.deleteStorage(n);
  }

  async getPartitions(topic: string): Promise<number> {
    return (await this.ctx.policies.partitions(name(topic))) ?? 0;
  }

  async unloadTopic(topic: string): Promise<void> {
    await this.ctx.topics.unload(name(topic).full);
  }

  async unloadNamespace(namespace: string): Promise<void> {
    const ns = parseNamespaceName(namespace);
    if ('kind' in ns) throw brokerErrors.make('INVALID_TOPIC_NAME', { detail: ns.detail });
    const mine = this.ctx.topics
      .loadedTopics()
      .filter((t) => t.name.tenant === ns.tenant && t.name.namespace === ns.namespace);
    await Promise.all(mine.map((t) => this.ctx.topics.unload(t.name.full)));
  }

  async terminateTopic(topic: string): Promise<MessageId> {
    const t = await this.persistent(topic);
    const last = await t.ml.terminate();
    for (const sub of t.subscriptions.values()) sub.wake();
    const id = await t.lastMessageId();
    return last.entryId >= 0 ? id : { ...last, partition: t.name.partitionIndex, batchIndex: -1 };
  }

  async getLastMessageId(topic: string): Promise<MessageId> {
    return (await this.topic(topic)).lastMessageId();
  }

  async topicStats(topic: string): Promise<TopicStats> {
    return (await this.topic(topic)).stats();
  }

  async internalStats(topic: string): Promise<unknown> {
    const t = await this.topic(topic);
    if (!(t instanceof PersistentTopic))
      return { entriesAddedCounter: 0, numberOfEntries: 0, totalSize: 0, ledgers: [], cursors: {} };
    const s = t.ml.stats();
    const cursors: Record<string, unknown> = {};
    for (const c of s.cursors) {
      cursors[c.name] = {
        markDeletePosition: `${c.markDeletePosition.ledgerId}:${c.markDeletePosition.entryId}`,
        readPosition: `${c.readPosition.ledgerId}:${c.readPosition.entryId}`,
        messagesConsumedCounter: 0,
        numberOfEntriesSinceFirstNotAckedMessage: c.backlogEntries,
        individuallyDeletedMessages: `${c.individuallyDeletedRanges} ranges`,
        state: c.state,
        active: (t.subscriptions.get(c.name)?.consumerCount ?? 0) > 0,
        durable: c.durable,
      };
    }
    return {
      state: s.state,
      numberOfEntries: s.numberOfEntries,
      totalSize: s.totalSizeBytes,
      currentLedgerEntries: s.ledgers[s.ledgers.length - 1]?.entries ?? 0,
      lastConfirmedEntry: `${s.lastConfirmedPosition.ledgerId}:${s.lastConfirmedPosition.entryId}`,
      pendingAddEntriesCount: s.pendingAppends,
      ledgers: s.ledgers.map((l) => ({
        ledgerId: l.ledgerId,
        entries: l.entries,
        size: l.sizeBytes,
        offloaded: l.offloaded,
      })),
      cursors,
    };
  }

  async listSubscriptions(topic: string): Promise<string[]> {
    return (await this.topic(topic)).subscriptionNames();
  }

  async createSubscription(
    topic: string,
    subscription: string,
    at: 'latest' | 'earliest' | MessageId,
  ): Promise<void> {
    const t = await this.persistent(topic);
    if (t.subscriptions.has(subscription)) return;
    const initialPosition =
      at === 'latest' ? 'Latest' : at === 'earliest' ? 'Earliest' : await seekPosition(t, { messageId: at });
    const cursor = await t.ml.openCursor(subscription, { durable: true, initialPosition });
    if (!t.subscriptions.has(subscription))
      t.subscriptions.set(subscription, t.newSubscription(subscription, 'Exclusive', cursor));
  }

  async deleteSubscription(topic: string, subscription: string, force: boolean): Promise<void> {
    const t = await this.persistent(topic);
    const sub = this.subscription(t, subscription);
    if (sub.consumerCount > 0 && !force) {
      throw brokerErrors.make('SUBSCRIPTION_BUSY', { subscription, count: sub.consumerCount });
    }
    sub.disconnectAll();
    await t.removeSubscription(sub);
  }

  async skipMessages(topic: string, subscription: string, count: number): Promise<void> {
    const sub = this.subscription(await this.persistent(topic), subscription);
    await sub.moveMarkDelete((c) => c.skipEntries(count));
  }

  async clearBacklog(topic: string, subscription: string): Promise<void> {
    const sub = this.subscription(await this.persistent(topic), subscription);
    await sub.moveMarkDelete((c) => c.clearBacklog());
  }

  async resetCursorByTime(topic: string, subscription: string, timestampMs: number): Promise<void> {
    const t = await this.persistent(topic);
    const position = await seekPosition(t, { publishTimeMs: timestampMs });
    await this.subscription(t, subscription).reset((c) => c.resetCursor(position));
  }

  async resetCursorToMessageId(topic: string, subscription: string, id: MessageId): Promise<void> {
    const t = await this.persistent(topic);
    const position = await seekPosition(t, { messageId: id });
    await this.subscription(t, subscription).reset((c) => c.resetCursor(position));
  }

  async expireMessages(topic: string, subscription: string, seconds: number): Promise<void> {
    const t = await this.persistent(topic);
    const sub = this.subscription(t, subscription);
    const firstKept = await firstPublishedAtOrAfter(t.ml, Date.now() - seconds * 1000);
    await sub.moveMarkDelete(async (c) => {
      if (firstKept) await c.markDelete(previousPosition(firstKept));
      else await c.clearBacklog();
    });
    sub.lastExpireTimestamp = Date.now();
  }

  async peekMessages(topic: string, subscription: string, count: number): Promise<PeekedMessage[]> {
    const t = await this.persistent(topic);
    const cursor = this.subscription(t, subscription).cursor;
    const want = Math.max(0, Math.min(count, MAX_PEEK));
    const out: PeekedMessage[] = [];
    let from: Position = t.ml.nextPosition(cursor.markDeletePosition);
    while (out.length < want) {
      const entries = await t.ml.readEntries(from, { maxEntries: Math.min(100, want - out.length + 10) });
      if (entries.length === 0) break;
      for (const e of entries) {
        if (out.length >= want) break;
        if (!cursor.isAcknowledged(e.position)) out.push(peeked(t, e.position, e.data));
      }
      from = t.ml.nextPosition(entries[entries.length - 1].position);
    }
    return out;
  }

  async getMessageById(topic: string, ledgerId: number, entryId: number): Promise<PeekedMessage> {
    const t = await this.persistent(topic);
    const [e] = await t.ml.readEntries({ ledgerId, entryId }, { maxEntries: 1 });
    if (!e || e.position.ledgerId !== ledgerId || e.position.entryId !== entryId) {
      throw brokerErrors.make('MESSAGE_NOT_FOUND', { ledgerId, entryId, topic: t.name.full });
    }
    return peeked(t, e.position, e.data);
  }

  async checkBacklogQuotas(): Promise<void> {
    await this.ctx.topics.checkPolicies('backlog-quota', Date.now());
  }

  private async topic(topic: string): Promise<Topic> {
    return this.ctx.topics.getTopic(name(topic), { create: false });
  }

  private async persistent(topic: string): Promise<PersistentTopic> {
    const t = await this.topic(topic);
    if (!(t instanceof PersistentTopic)) {
      throw brokerErrors.make('NOT_SUPPORTED_ON_TOPIC', {
        operation: 'this operation',
        kind: 'non-persistent',
      });
    }
    return t;
  }

  private subscription(t: PersistentTopic, name: string): PersistentSubscription {
    const sub = t.subscriptions.get(name);
    if (!sub) throw brokerErrors.make('SUBSCRIPTION_NOT_FOUND', { subscription: name, topic: t.name.full });
    return sub;
  }
}

function name(topic: string): TopicName {
  const n = parseTopicName(topic);
  if (isTopicNameProblem(n)) throw brokerErrors.make('INVALID_TOPIC_NAME', { detail: n.detail });
  return n;
}

function peeked(t: PersistentTopic, position: Position, data: Uint8Array): PeekedMessage {
  const parts = splitEntry(asBuffer(data));
  const messageId = { ...position, partition: t.name.partitionIndex, batchIndex: -1 };
  if (isPayloadProblem(parts)) return { messageId, metadata: new Uint8Array(0), payload: asBuffer(data) };
  return { messageId, metadata: parts.metadata, payload: parts.data };
}
