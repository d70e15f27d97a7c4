/**
 * Broker configuration: every setting with its default, bounds and meaning (README.md renders the
 * table with `describeConfig`). Loaded by main.ts with lib/config (flags, env, file); standalone
 * mode passes `base` values. The managed ledger's settings are embedded as they are.
 */
import { type ConfigOf, type LoadOptions, loadConfig } from '../../lib/config/index.ts';
import { DEFAULT_MAX_MESSAGE_SIZE } from '../../lib/wire/frame.ts';
import { authConfigSpec } from '../../lib/auth/config.ts';
import { clusterConfigSpec } from '../../lib/cluster/config.ts';
import { policyDefaultsSpec } from '../../lib/policies/defaults.ts';
import { managedLedgerSettings } from './managed-ledger/limits.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

export const brokerSettings = {
  brokerId: {
    type: 'string',
    default: '',
    doc: 'This broker\'s id in the cluster; empty = "<advertisedAddress>:<webServicePort>".',
  },
  clusterName: {
    type: 'string',
    default: 'standalone',
    doc: 'Cluster this broker belongs to (metadata key scope, generated names).',
  },
  bindAddress: {
    type: 'string',
    default: '0.0.0.0',
    doc: 'Address the binary protocol and HTTP listeners bind to.',
  },
  brokerServicePort: {
    type: 'int',
    default: 6650,
    min: 0,
    max: 65535,
    doc: 'Pulsar binary protocol port (0 = any free port).',
  },
  webServicePort: {
    type: 'int',
    default: 8080,
    min: 0,
    max: 65535,
    doc: 'HTTP port: admin REST API, lookup, health, metrics (0 = any free port; -1 is not allowed).',
  },
  advertisedAddress: {
    type: 'string',
    default: '127.0.0.1',
    doc: 'Host name clients are told to connect to (LOOKUP answers pulsar://<this>:<port>).',
  },
  metadataUrl: {
    type: 'string',
    default: '',
    doc: 'Metadata store URL (etcd://host:port/prefix or file:///dir). Empty: no storage, only non-persistent topics.',
  },
  maxMessageSizeBytes: {
    type: 'int',
    default: DEFAULT_MAX_MESSAGE_SIZE,
    min: 1024,
    max: 128 * MiB,
    doc: 'Largest message (metadata + payload) accepted and advertised in CONNECTED; frames may be 10 KiB larger.',
  },
  verifyChecksums: {
    type: 'bool',
    default: true,
    doc: 'Verify the CRC32C of every SEND (ChecksumError on mismatch).',
  },
  maxConnections: {
    type: 'int',
    default: 10_000,
    min: 1,
    doc: 'Open client connections; more are closed on accept.',
  },
  maxProducersPerConnection: {
    type: 'int',
    default: 10_000,
    min: 1,
    doc: 'Producers one connection may hold.',
  },
  maxConsumersPerConnection: {
    type: 'int',
    default: 10_000,
    min: 1,
    doc: 'Consumers one connection may hold.',
  },
  maxPendingSendsPerConnection: {
    type: 'int',
    default: 1_000,
    min: 1,
    doc: 'SENDs awaiting their receipt per connection; above it the socket is paused until half are answered.',
  },
  maxPendingSendBytesPerConnection: {
    type: 'int',
    default: 64 * MiB,
    min: 64 * KiB,
    doc: 'Payload bytes awaiting receipts per connection; above it the socket is paused.',
  },
  maxOutboundBytesPerConnection: {
    type: 'int',
    default: 16 * MiB,
    min: 64 * KiB,
    doc: 'Unsent bytes queued on a socket above which dispatch to its consumers pauses (non-persistent messages are dropped).',
  },
  maxOutboundHardBytesPerConnection: {
    type: 'int',
    default: 64 * MiB,
    min: 128 * KiB,
    doc: 'Unsent bytes queued on a socket at which the connection is closed (a peer that does not read).',
  },
  connectTimeoutMs: {
    type: 'int',
    default: 10_000,
    min: 100,
    doc: 'A connection that has not sent CONNECT by then is closed.',
  },
  keepAliveIntervalMs: {
    type: 'int',
    default: 30_000,
    min: 100,
    doc: 'PING an idle client after this long; close it when nothing arrived for twice as long.',
  },
  maxTopicsLoaded: {
    type: 'int',
    default: 100_000,
    min: 1,
    doc: 'Topics loaded on this broker; loading more fails with ServiceNotReady.',
  },
  maxProducersPerTopicLimit: {
    type: 'int',
    default: 10_000,
    min: 1,
    doc: 'Producers per topic (policy may lower it).',
  },
  maxConsumersPerTopicLimit: {
    type: 'int',
    default: 10_000,
    min: 1,
    doc: 'Consumers per topic over all subscriptions (policy may lower it).',
  },
  maxConsumersPerSubscription: { type: 'int', default: 10_000, min: 1, doc: 'Consumers per subscription.' },
  maxSubscriptionsPerTopic: {
    type: 'int',
    default: 10_000,
    min: 1,
    doc: 'Subscriptions (including readers) per topic.',
  },
  brokerDeduplicationEntriesInterval: {
    type: 'int',
    default: 1_000,
    min: 1,
    doc: 'Persist the dedup snapshot (producer → highest sequence id) every this many persisted entries.',
  },
  brokerDeduplicationSnapshotIntervalMs: {
    type: 'int',
    default: 120_000,
    min: 100,
    doc: 'Also persist the dedup snapshot this often when it changed.',
  },
  brokerDeduplicationMaxNumberOfProducers: {
    type: 'int',
    default: 10_000,
    min: 1,
    doc: 'Producers remembered per topic for dedup; the least recently active are forgotten first.',
  },
  brokerDeduplicationProducerInactivityMs: {
    type: 'int',
    default: 6 * 3_600_000,
    min: 1_000,
    doc: 'Forget the dedup state of a producer name unseen this long.',
  },
  dispatcherMaxReadBatchSize: {
    type: 'int',
    default: 100,
    min: 1,
    max: 10_000,
    doc: 'Entries read from the cursor per dispatch round.',
  },
  dispatcherMaxRoundRobinBatchSize: {
    type: 'int',
    default: 20,
    min: 1,
    max: 10_000,
    doc: 'Entries given to one Shared consumer before moving to the next.',
  },
  maxUnackedMessagesPerConsumer: {
    type: 'int',
    default: 50_000,
    min: 0,
    doc: 'Unacked messages after which a Shared/Key_Shared consumer gets nothing more until half are acked (0 = off).',
  },
  maxUnackedMessagesPerSubscription: {
    type: 'int',
    default: 200_000,
    min: 0,
    doc: 'Unacked messages after which a subscription dispatches nothing until half are acked (0 = off).',
  },
  maxReplayEntriesPerSubscription: {
    type: 'int',
    default: 200_000,
    min: 1,
    doc: 'Entries waiting for redelivery per subscription; at the limit no new entries are read.',
  },
  activeConsumerFailoverDelayMs: {
    type: 'int',
    default: 1_000,
    min: 0,
    doc: 'Failover: when a new consumer takes over from a connected one, wait this long before dispatching to it.',
  },
  delayedDeliveryTickMs: {
    type: 'int',
    default: 1_000,
    min: 10,
    doc: 'Granularity of delayed delivery (deliver_at_time) for Shared subscriptions.',
  },
  delayedDeliveryMaxTrackedEntries: {
    type: 'int',
    default: 1_000_000,
    min: 1,
    doc: 'Delayed entries held per subscription; at the limit no new entries are read until some are due.',
  },
  inactiveTopicUnloadMs: {
    type: 'int',
    default: 300_000,
    min: 0,
    doc: 'Unload a topic that has had no producer and no consumer this long (0 = never); it loads again on use.',
  },
  readRetryBackoffMs: {
    type: 'int',
    default: 200,
    min: 1,
    doc: 'Wait after a failed cursor read before dispatch tries again (doubles up to 32x).',
  },
  authenticationRefreshCheckSeconds: {
    type: 'int',
    default: 60,
    min: 1,
    max: 86_400,
    doc: 'How often connections are checked for expired tokens: an expired one is challenged (AUTH_CHALLENGE, clients that support refresh) or closed.',
  },
  backlogQuotaCheckIntervalMs: {
    type: 'int',
    default: 60_000,
    min: 50,
    doc: 'Check every loaded topic against its backlog quotas (size and age) this often; size is also checked after each publish and ack.',
  },
  messageExpiryCheckIntervalMs: {
    type: 'int',
    default: 300_000,
    min: 50,
    doc: 'Expire messages older than the message TTL (move the subscriptions past them) this often.',
  },
  subscriptionExpiryCheckIntervalMs: {
    type: 'int',
    default: 300_000,
    min: 50,
    doc: 'Delete subscriptions without consumers for longer than subscriptionExpirationTimeMinutes this often.',
  },
  maxSubscribeRateEntriesPerTopic: {
    type: 'int',
    default: 10_000,
    min: 1,
    doc: 'Consumers (host + name) whose subscribe rate a topic tracks; the oldest are forgotten first.',
  },
  clusterOwnership: {
    type: 'bool',
    default: true,
    doc: 'With a metadata store: serve only topics whose bundle this broker owns (lib/cluster), answer LOOKUP with the owner.',
  },
  ...clusterConfigSpec,
  ...policyDefaultsSpec,
  ...authConfigSpec,
  ...managedLedgerSettings,
} as const;

export type BrokerConfig = ConfigOf<typeof brokerSettings>;

export function loadBrokerConfig(opts: LoadOptions = {}): BrokerConfig {
  const cfg = loadConfig('broker', brokerSettings, opts);
  if (cfg.maxOutboundHardBytesPerConnection <= cfg.maxOutboundBytesPerConnection) {
    throw new Error('maxOutboundHardBytesPerConnection must exceed maxOutboundBytesPerConnection');
  }
  return cfg;
}

/** The broker id in the cluster: configured, else "<advertisedAddress>:<webServicePort>" as Pulsar names brokers. */
export function brokerIdOf(cfg: BrokerConfig, webPort: number): string {
  return cfg.brokerId !== '' ? cfg.brokerId : `${cfg.advertisedAddress}:${webPort}`;
}
