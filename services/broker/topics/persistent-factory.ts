/**
 * Persistent topics on managed ledgers. A topic's managed ledger is named like Pulsar's
 * persistence naming: `<tenant>/<namespace>/persistent/<local name>` (so one namespace's topics
 * share a key prefix in the metadata store and can be listed by prefix).
 */
import type { Logger } from '../../../lib/log/index.ts';
import { managedLedgersPrefix, parseManagedLedgerKey } from '../../../lib/metadata/keys.ts';
import type { MetadataStore } from '../../../lib/metadata/store.ts';
import type { TopicName } from '../../../lib/wire/topic-name.ts';
import type { BrokerConfig } from '../config.ts';
import type { ManagedLedgerFactory } from '../managed-ledger/api.ts';
import { mlErrors } from '../managed-ledger/errors.ts';
import type { TopicPolicies } from '../policies.ts';
import { PersistentTopic } from './persistent-topic.ts';
import type { PersistentTopicFactory } from './registry.ts';
import type { TopicLimits } from './topic-base.ts';
import type { Topic } from './topic.ts';

export function managedLedgerName(topic: TopicName): string {
  return `${topic.tenant}/${topic.namespace}/persistent/${topic.localName}`;
}

export class ManagedLedgerTopicFactory implements PersistentTopicFactory {
  private readonly factory: ManagedLedgerFactory;
  private readonly config: BrokerConfig;
  private readonly log: Logger;
  private readonly store: MetadataStore | undefined;

  constructor(factory: ManagedLedgerFactory, config: BrokerConfig, log: Logger, store?: MetadataStore) {
    this.factory = factory;
    this.config = config;
    this.log = log;
    this.store = store;
  }

  exists(name: TopicName): Promise<boolean> {
    return this.factory.exists(managedLedgerName(name));
  }

  async open(name: TopicName, policies: TopicPolicies, limits: TopicLimits): Promise<Topic> {
    const ml = await this.factory.open(managedLedgerName(name), {
      ensembleSize: policies.ensembleSize,
      writeQuorum: policies.writeQuorum,
      ackQuorum: policies.ackQuorum,
      retentionTimeMs: policies.retentionTimeMs,
      retentionSizeBytes: policies.retentionSizeBytes,
    });
    try {
      return await PersistentTopic.load(name, ml, policies, limits, this.config, this.log);
    } catch (err) {
      await ml.close().catch(() => undefined);
      throw err;
    }
  }

  async list(tenant: string, namespace: string): Promise<string[]> {
    if (!this.store) return [];
    const prefix = `${tenant}/${namespace}/persistent/`;
    const entries = await this.store.listAll(managedLedgersPrefix(this.config.clusterName, prefix), {
      keysOnly: true,
    });
    const out: string[] = [];
    for (const e of entries) {
      const parsed = parseManagedLedgerKey(e.key);
      if (parsed?.name.startsWith(prefix))
        out.push(`persistent://${tenant}/${namespace}/${parsed.name.slice(prefix.length)}`);
    }
    return out;
  }

  async delete(name: TopicName, policies: TopicPolicies): Promise<void> {
    // Not the factory's delete: that opens with the broker defaults, which may ask for more
    // bookies than the topic's namespace uses.
    const ml = managedLedgerName(name);
    if (!(await this.factory.exists(ml))) throw mlErrors.make('MANAGED_LEDGER_NOT_FOUND', { name: ml });
    const opened = await this.factory.open(ml, {
      ensembleSize: policies.ensembleSize,
      writeQuorum: policies.writeQuorum,
      ackQuorum: policies.ackQuorum,
    });
    await opened.delete();
  }
}
