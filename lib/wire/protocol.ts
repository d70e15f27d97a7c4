/** Protocol-level constants and re-exports of the generated enums most code needs. */
export {
  BaseCommand_Type as CommandTypes,
  CommandAck_AckType as AckType,
  CommandLookupTopicResponse_LookupType as LookupType,
  CommandPartitionedTopicMetadataResponse_LookupType as PartitionedMetadataLookupType,
  CommandSubscribe_InitialPosition as InitialPosition,
  CommandSubscribe_SubType as SubType,
  CommandGetTopicsOfNamespace_Mode as TopicsMode,
  KeySharedMode,
  ProducerAccessMode,
  ServerError,
} from '../gen/pulsar/PulsarApi_pb.ts';
export type { BaseCommand, MessageIdData, MessageMetadata } from '../gen/pulsar/PulsarApi_pb.ts';

/**
 * Highest protocol version this codec speaks (v19 frame set; TOPIC_MIGRATED and topic watchers are
 * never sent). CONNECTED answers min(client's, this).
 */
export const MAX_PROTOCOL_VERSION = 19;

/** Feature gates by protocol version (pulsar-protocol.md §4). */
export const ProtocolFeature = {
  /** Broker may close a producer/consumer without closing the TCP connection. */
  brokerInitiatedClose: 5,
  /** MESSAGE keeps the 0x0e01 checksum section. */
  checksumInMessage: 11,
  /** ACTIVE_CONSUMER_CHANGE is understood. */
  activeConsumerChange: 12,
  /** REACHED_END_OF_TOPIC is understood. */
  reachedEndOfTopic: 9,
  /** Batched entries may be dispatched. */
  batches: 4,
} as const;
