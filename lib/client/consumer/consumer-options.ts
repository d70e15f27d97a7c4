/** Consumer options with defaults filled in and bounds checked. */
import { isTopicNameProblem, parseTopicName } from '../../wire/topic-name.ts';
import { clientErrors } from '../errors.ts';
import type { MessageId } from '../message-id.ts';
import {
  type ConsumerOptions,
  choiceOption,
  type DeadLetterPolicy,
  type InitialPosition,
  intOption,
  type KeySharedPolicy,
  type MessageListener,
  type RegexSubscriptionMode,
  requireString,
  type SubscriptionType,
  SubscriptionTypes,
} from '../options.ts';

const HOUR_MS = 3_600_000;

export interface ResolvedConsumerOptions {
  /** Normalised topic names (empty for a pattern subscription). */
  readonly topics: readonly string[];
  readonly pattern:
    | { readonly namespace: string; readonly regex: RegExp; readonly source: string }
    | undefined;
  readonly subscription: string;
  readonly subscriptionType: SubscriptionType;
  readonly initialPosition: InitialPosition;
  readonly durable: boolean;
  readonly consumerName: string | undefined;
  readonly receiverQueueSize: number;
  readonly maxTotalReceiverQueueSizeAcrossPartitions: number;
  readonly ackTimeoutMs: number;
  readonly ackTimeoutTickMs: number;
  readonly negativeAckRedeliveryDelayMs: number;
  readonly ackGroupTimeMs: number;
  readonly maxAckGroupSize: number;
  readonly ackReceiptEnabled: boolean;
  readonly batchIndexAckEnabled: boolean;
  readonly deadLetterPolicy: DeadLetterPolicy | undefined;
  readonly retryEnabled: boolean;
  readonly priorityLevel: number;
  readonly readCompacted: boolean;
  readonly replicateSubscriptionState: boolean;
  readonly keySharedPolicy: KeySharedPolicy | undefined;
  readonly properties: Readonly<Record<string, string>>;
  readonly patternAutoDiscoveryPeriodMs: number;
  readonly regexSubscriptionMode: RegexSubscriptionMode;
  readonly autoUpdatePartitionsIntervalMs: number;
  readonly listener: MessageListener | undefined;
  readonly batchReceive: {
    readonly maxNumMessages: number;
    readonly maxNumBytes: number;
    readonly timeoutMs: number;
  };
  readonly startMessageId: MessageId | undefined;
  readonly startMessageIdInclusive: boolean;
  readonly startMessageRollbackDurationMs: number;
}

function normaliseTopic(name: string): string {
  const parsed = parseTopicName(name);
  if (isTopicNameProblem(parsed)) throw clientErrors.make('INVALID_TOPIC_NAME', { detail: parsed.detail });
  return parsed.full;
}

/** `tenant/ns/regex` or `persistent://tenant/ns/regex` → namespace and anchored regex. */
function parsePattern(pattern: string): ResolvedConsumerOptions['pattern'] {
  const m = /^(?:(persistent|non-persistent):\/\/)?([^/]+)\/([^/]+)\/(.+)$/.exec(pattern);
  if (!m) {
    throw clientErrors.make('INVALID_OPTION', {
      option: 'topicsPattern',
      reason: 'expected [persistent://]tenant/namespace/<regex over topic names>',
    });
  }
  const domain = m[1] ?? 'persistent';
  let regex: RegExp;
  try {
    regex = new RegExp(`^${domain}://${m[2]}/${m[3]}/${m[4]}$`);
  } catch (err) {
    throw clientErrors.make('INVALID_OPTION', { option: 'topicsPattern', reason: (err as Error).message });
  }
  return { namespace: `${m[2]}/${m[3]}`, regex, source: pattern };
}

export function resolveConsumerOptions(o: ConsumerOptions): ResolvedConsumerOptions {
  const given = [o.topic, o.topics, o.topicsPattern].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw clientErrors.make('INVALID_OPTION', {
      option: 'topic',
      reason: 'give exactly one of topic, topics, topicsPattern',
    });
  }
  const topics = o.topic !== undefined ? [normaliseTopic(o.topic)] : (o.topics ?? []).map(normaliseTopic);
  if (o.topics !== undefined && topics.length === 0) {
    throw clientErrors.make('INVALID_OPTION', { option: 'topics', reason: 'at least one topic is required' });
  }
  const ackTimeoutMs = intOption('ackTimeoutMs', o.ackTimeoutMs, 0, 0, 24 * HOUR_MS);
  if (ackTimeoutMs > 0 && ackTimeoutMs < 1000) {
    throw clientErrors.make('INVALID_OPTION', {
      option: 'ackTimeoutMs',
      reason: 'must be 0 (off) or at least 1000',
    });
  }
  const dlq = o.deadLetterPolicy;
  if (dlq) intOption('deadLetterPolicy.maxRedeliverCount', dlq.maxRedeliverCount, 0, 1, 1_000_000);
  const retryEnabled = o.retryEnabled ?? false;
  if (retryEnabled && !dlq) {
    throw clientErrors.make('INVALID_OPTION', {
      option: 'retryEnabled',
      reason: 'needs a deadLetterPolicy (maxRedeliverCount)',
    });
  }
  if (retryEnabled && o.topicsPattern !== undefined) {
    throw clientErrors.make('INVALID_OPTION', {
      option: 'retryEnabled',
      reason: 'not available with topicsPattern',
    });
  }
  const br = o.batchReceivePolicy ?? {};
  return {
    topics,
    pattern: o.topicsPattern !== undefined ? parsePattern(o.topicsPattern) : undefined,
    subscription: requireString('subscription', o.subscription),
    subscriptionType: choiceOption('subscriptionType', o.subscriptionType, 'Exclusive', SubscriptionTypes),
    initialPosition: choiceOption('subscriptionInitialPosition', o.subscriptionInitialPosition, 'Latest', [
      'Latest',
      'Earliest',
    ] as const),
    durable: o.durable ?? true,
    consumerName: o.consumerName,
    receiverQueueSize: intOption('receiverQueueSize', o.receiverQueueSize, 1000, 1, 1_000_000),
    maxTotalReceiverQueueSizeAcrossPartitions: intOption(
      'maxTotalReceiverQueueSizeAcrossPartitions',
      o.maxTotalReceiverQueueSizeAcrossPartitions,
      50_000,
      1,
      100_000_000,
    ),
    ackTimeoutMs,
    ackTimeoutTickMs: intOption('ackTimeoutTickMs', o.ackTimeoutTickMs, 1000, 10, HOUR_MS),
    negativeAckRedeliveryDelayMs: intOption(
      'negativeAckRedeliveryDelayMs',
      o.negativeAckRedeliveryDelayMs,
      60_000,
      0,
      24 * HOUR_MS,
    ),
    ackGroupTimeMs: intOption('ackGroupTimeMs', o.ackGroupTimeMs, 100, 0, 60_000),
    maxAckGroupSize: intOption('maxAckGroupSize', o.maxAckGroupSize, 1000, 1, 100_000),
    ackReceiptEnabled: o.ackReceiptEnabled ?? false,
    batchIndexAckEnabled: o.batchIndexAckEnabled ?? false,
    deadLetterPolicy: dlq,
    retryEnabled,
    priorityLevel: intOption('priorityLevel', o.priorityLevel, 0, 0, 1_000_000),
    readCompacted: o.readCompacted ?? false,
    replicateSubscriptionState: o.replicateSubscriptionState ?? false,
    keySharedPolicy: o.keySharedPolicy,
    properties: o.properties ?? {},
    patternAutoDiscoveryPeriodMs: intOption(
      'patternAutoDiscoveryPeriodMs',
      o.patternAutoDiscoveryPeriodMs,
      60_000,
      10,
      24 * HOUR_MS,
    ),
    regexSubscriptionMode: choiceOption('regexSubscriptionMode', o.regexSubscriptionMode, 'PersistentOnly', [
      'PersistentOnly',
      'NonPersistentOnly',
      'AllTopics',
    ] as const),
    autoUpdatePartitionsIntervalMs: intOption(
      'autoUpdatePartitionsIntervalMs',
      o.autoUpdatePartitionsIntervalMs,
      60_000,
      0,
      24 * HOUR_MS,
    ),
    listener: o.listener,
    batchReceive: {
      maxNumMessages: intOption('batchReceivePolicy.maxNumMessages', br.maxNumMessages, 100, 1, 1_000_000),
      maxNumBytes: intOption('batchReceivePolicy.maxNumBytes', br.maxNumBytes, 10 * 1024 * 1024, 1, 1 << 30),
      timeoutMs: intOption('batchReceivePolicy.timeoutMs', br.timeoutMs, 100, 0, HOUR_MS),
    },
    startMessageId: o.startMessageId,
    startMessageIdInclusive: o.startMessageIdInclusive ?? false,
    startMessageRollbackDurationMs: intOption(
      'startMessageRollbackDurationMs',
      o.startMessageRollbackDurationMs,
      0,
      0,
      365 * 24 * HOUR_MS,
    ),
  };
}
