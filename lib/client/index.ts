/**
 * Magnetar's TypeScript client for the Pulsar binary protocol: producers (batching, compression,
 * partitions, deduplication-safe resends), consumers (all subscription types, acks, negative
 * acks, ack timeouts, dead-letter and retry topics, multi-topic and pattern subscriptions, seek)
 * and readers. See README.md.
 */

export { MagnetarError } from '../errors/index.ts';
export { PulsarClient } from './client.ts';
export { Consumer } from './consumer/consumer.ts';
export { RetryProperty } from './consumer/dead-letter.ts';
export { Reader } from './consumer/reader.ts';
export { type ClientErrorCode, clientErrors, isRetryable } from './errors.ts';
export { Message, type OutgoingMessage } from './message.ts';
export { MessageId } from './message-id.ts';
export type {
  AccessMode,
  Authentication,
  BatchReceivePolicy,
  ClientOptions,
  CompressionName,
  ConsumerOptions,
  DeadLetterPolicy,
  HashingScheme,
  InitialPosition,
  KeySharedPolicy,
  MessageListener,
  ProducerOptions,
  ReaderOptions,
  SubscriptionType,
} from './options.ts';
export type { SendCallback } from './producer/batch-builder.ts';
export { Producer } from './producer/producer.ts';
