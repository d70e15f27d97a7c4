/**
 * Stats documents with Pulsar's field names (pulsar-features.md §2.10), filled by the broker's
 * TopicAdminOps and served as is. Partitioned stats are aggregated here from per-partition stats.
 */

export interface PublisherStats {
  producerId: number;
  producerName: string;
  accessMode: string;
  msgRateIn: number;
  msgThroughputIn: number;
  averageMsgSize: number;
  address: string;
  connectedSince: string;
  clientVersion: string;
  metadata: Record<string, string>;
}

export interface ConsumerStats {
  consumerName: string;
  msgRateOut: number;
  msgThroughputOut: number;
  msgRateRedeliver: number;
  availablePermits: number;
  unackedMessages: number;
  blockedConsumerOnUnackedMsgs: boolean;
  address: string;
  connectedSince: string;
  clientVersion: string;
  lastAckedTimestamp: number;
  lastConsumedTimestamp: number;
  metadata: Record<string, string>;
}

export interface SubscriptionStats {
  msgRateOut: number;
  msgThroughputOut: number;
  bytesOutCounter: number;
  msgOutCounter: number;
  msgRateRedeliver: number;
  msgRateExpired: number;
  totalMsgExpired: number;
  msgBacklog: number;
  msgBacklogNoDelayed: number;
  msgDelayed: number;
  backlogSize: number;
  unackedMessages: number;
  /** Exclusive | Shared | Failover | Key_Shared */
  type: string;
  activeConsumerName?: string;
  blockedSubscriptionOnUnackedMsgs: boolean;
  lastExpireTimestamp: number;
  lastConsumedFlowTimestamp: number;
  lastConsumedTimestamp: number;
  lastAckedTimestamp: number;
  lastMarkDeleteAdvancedTimestamp: number;
  isDurable: boolean;
  isReplicated: boolean;
  consumers: ConsumerStats[];
}

export interface TopicStats {
  msgRateIn: number;
  msgThroughputIn: number;
  msgRateOut: number;
  msgThroughputOut: number;
  bytesInCounter: number;
  msgInCounter: number;
  bytesOutCounter: number;
  msgOutCounter: number;
  averageMsgSize: number;
  storageSize: number;
  backlogSize: number;
  offloadedStorageSize: number;
  earliestMsgPublishTimeInBacklogs: number;
  waitingPublishers: number;
  deduplicationStatus: string;
  topicEpoch?: number;
  topicCreationTimeStamp: number;
  lastPublishTimestamp: number;
  publishers: PublisherStats[];
  subscriptions: Record<string, SubscriptionStats>;
  replication: Record<string, unknown>;
}

export interface PartitionedTopicStats extends TopicStats {
  metadata: { partitions: number };
  partitions: Record<string, TopicStats>;
}

export interface LedgerInternalStats {
  ledgerId: number;
  entries: number;
  size: number;
  offloaded: boolean;
  underReplicated: boolean;
}

export interface CursorInternalStats {
  markDeletePosition: string;
  readPosition: string;
  waitingReadOp: boolean;
  pendingReadOps: number;
  messagesConsumedCounter: number;
  cursorLedger: number;
  cursorLedgerLastEntry: number;
  individuallyDeletedMessages: string;
  lastLedgerSwitchTimestamp: string;
  state: string;
  numberOfEntriesSinceFirstNotAckedMessage: number;
  totalNonContiguousDeletedMessagesRange: number;
  properties: Record<string, number>;
}

export interface PersistentTopicInternalStats {
  entriesAddedCounter: number;
  numberOfEntries: number;
  totalSize: number;
  currentLedgerEntries: number;
  currentLedgerSize: number;
  lastLedgerCreatedTimestamp: string;
  waitingCursorsCount: number;
  pendingAddEntriesCount: number;
  lastConfirmedEntry: string;
  state: string;
  ledgers: LedgerInternalStats[];
  cursors: Record<string, CursorInternalStats>;
}

const SUMMED_TOPIC_FIELDS = [
  'msgRateIn',
  'msgThroughputIn',
  'msgRateOut',
  'msgThroughputOut',
  'bytesInCounter',
  'msgInCounter',
  'bytesOutCounter',
  'msgOutCounter',
  'storageSize',
  'backlogSize',
  'offloadedStorageSize',
  'waitingPublishers',
] as const;

const SUMMED_SUB_FIELDS = [
  'msgRateOut',
  'msgThroughputOut',
  'bytesOutCounter',
  'msgOutCounter',
  'msgRateRedeliver',
  'msgRateExpired',
  'totalMsgExpired',
  'msgBacklog',
  'msgBacklogNoDelayed',
  'msgDelayed',
  'backlogSize',
  'unackedMessages',
] as const;

function emptyTopicStats(): TopicStats {
  const s = {} as Record<string, unknown>;
  for (const f of SUMMED_TOPIC_FIELDS) s[f] = 0;
  return {
    ...(s as unknown as TopicStats),
    averageMsgSize: 0,
    earliestMsgPublishTimeInBacklogs: 0,
    deduplicationStatus: 'Disabled',
    topicCreationTimeStamp: 0,
    lastPublishTimestamp: 0,
    publishers: [],
    subscriptions: {},
    replication: {},
  };
}

/** Pulsar's partitioned-stats: sums over partitions; `partitions` only when perPartition. */
export function aggregatePartitionedStats(
  partitions: number,
  perPartition: Record<string, TopicStats>,
  includePartitions: boolean,
): PartitionedTopicStats {
  const out = emptyTopicStats() as unknown as Record<string, unknown> & TopicStats;
  let earliest = 0;
  for (const p of Object.values(perPartition)) {
    for (const f of SUMMED_TOPIC_FIELDS) out[f] = (out[f] as number) + (p[f] ?? 0);
    out.publishers.push(...p.publishers);
    out.lastPublishTimestamp = Math.max(out.lastPublishTimestamp, p.lastPublishTimestamp);
    out.topicCreationTimeStamp = Math.max(out.topicCreationTimeStamp, p.topicCreationTimeStamp);
    out.deduplicationStatus = p.deduplicationStatus;
    if (
      p.earliestMsgPublishTimeInBacklogs > 0 &&
      (earliest === 0 || p.earliestMsgPublishTimeInBacklogs < earliest)
    ) {
      earliest = p.earliestMsgPublishTimeInBacklogs;
    }
    for (const [name, s] of Object.entries(p.subscriptions)) {
      const cur = out.subscriptions[name];
      if (!cur) {
        out.subscriptions[name] = { ...s, consumers: [...s.consumers] };
        continue;
      }
      const acc = cur as unknown as Record<string, number>;
      for (const f of SUMMED_SUB_FIELDS) acc[f] = (acc[f] ?? 0) + (s[f] ?? 0);
      cur.consumers.push(...s.consumers);
    }
  }
  out.earliestMsgPublishTimeInBacklogs = earliest;
  out.averageMsgSize = out.msgRateIn > 0 ? out.msgThroughputIn / out.msgRateIn : 0;
  return { ...out, metadata: { partitions }, partitions: includePartitions ? perPartition : {} };
}
