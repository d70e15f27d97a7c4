/** Producer options with defaults filled in and bounds checked. */
import { CompressionType } from '../../wire/compression.ts';
import { isTopicNameProblem, parseTopicName } from '../../wire/topic-name.ts';
import { clientErrors } from '../errors.ts';
import {
  type AccessMode,
  AccessModes,
  type CompressionName,
  CompressionTypes,
  type CustomRouter,
  choiceOption,
  type HashingScheme,
  intOption,
  type ProducerOptions,
  type RoutingMode,
} from '../options.ts';

const HOUR_MS = 3_600_000;

export interface ResolvedProducerOptions {
  readonly topic: string;
  readonly producerName: string | undefined;
  readonly sendTimeoutMs: number;
  readonly maxPendingMessages: number;
  readonly maxPendingMessagesAcrossPartitions: number;
  readonly blockIfQueueFull: boolean;
  readonly batchingEnabled: boolean;
  readonly batchingMaxMessages: number;
  readonly batchingMaxBytes: number;
  readonly batchingMaxPublishDelayMs: number;
  readonly batcherType: 'default' | 'key-based';
  readonly compression: number;
  readonly compressionName: CompressionName;
  readonly routingMode: RoutingMode;
  readonly customRouter: CustomRouter | undefined;
  readonly hashingScheme: HashingScheme;
  readonly initialSequenceId: number | undefined;
  readonly accessMode: AccessMode;
  readonly properties: Readonly<Record<string, string>>;
  readonly initialSubscriptionName: string | undefined;
  readonly autoUpdatePartitionsIntervalMs: number;
}

export function resolveProducerOptions(o: ProducerOptions): ResolvedProducerOptions {
  const parsed = parseTopicName(o.topic ?? '');
  if (isTopicNameProblem(parsed)) throw clientErrors.make('INVALID_TOPIC_NAME', { detail: parsed.detail });
  const compressionName = choiceOption('compressionType', o.compressionType, 'NONE', CompressionTypes);
  if (
    o.initialSequenceId !== undefined &&
    (!Number.isSafeInteger(o.initialSequenceId) || o.initialSequenceId < -1)
  ) {
    throw clientErrors.make('INVALID_OPTION', {
      option: 'initialSequenceId',
      reason: 'must be an integer ≥ -1',
    });
  }
  return {
    topic: parsed.full,
    producerName: o.producerName,
    sendTimeoutMs: intOption('sendTimeoutMs', o.sendTimeoutMs, 30_000, 0, HOUR_MS),
    maxPendingMessages: intOption('maxPendingMessages', o.maxPendingMessages, 1000, 1, 10_000_000),
    maxPendingMessagesAcrossPartitions: intOption(
      'maxPendingMessagesAcrossPartitions',
      o.maxPendingMessagesAcrossPartitions,
      50_000,
      1,
      100_000_000,
    ),
    blockIfQueueFull: o.blockIfQueueFull ?? false,
    batchingEnabled: o.batchingEnabled ?? true,
    batchingMaxMessages: intOption('batchingMaxMessages', o.batchingMaxMessages, 1000, 1, 1_000_000),
    batchingMaxBytes: intOption('batchingMaxBytes', o.batchingMaxBytes, 128 * 1024, 1, 64 * 1024 * 1024),
    batchingMaxPublishDelayMs: intOption(
      'batchingMaxPublishDelayMs',
      o.batchingMaxPublishDelayMs,
      10,
      0,
      60_000,
    ),
    batcherType: choiceOption('batcherType', o.batcherType, 'default', ['default', 'key-based'] as const),
    compression: CompressionType[compressionName],
    compressionName,
    routingMode: choiceOption('messageRoutingMode', o.messageRoutingMode, 'round-robin', [
      'round-robin',
      'single-partition',
    ] as const),
    customRouter: o.customRouter,
    hashingScheme: choiceOption('hashingScheme', o.hashingScheme, 'murmur3_32', [
      'murmur3_32',
      'java-string',
    ] as const),
    initialSequenceId: o.initialSequenceId,
    accessMode: choiceOption('accessMode', o.accessMode, 'Shared', AccessModes),
    properties: o.properties ?? {},
    initialSubscriptionName: o.initialSubscriptionName,
    autoUpdatePartitionsIntervalMs: intOption(
      'autoUpdatePartitionsIntervalMs',
      o.autoUpdatePartitionsIntervalMs,
      60_000,
      0,
      24 * HOUR_MS,
    ),
  };
}
