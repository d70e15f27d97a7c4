/**
 * What the protocol handlers need from the broker (BrokerContext) and from their connection
 * (ConnectionHandle). Kept as interfaces so handlers stay small and testable.
 */
import type { BrokerAuthorizer, TopicOperation } from '../../../lib/auth/authorize.ts';
import type { Logger } from '../../../lib/log/index.ts';
import type { CommandAuthResponse } from '../../../lib/gen/pulsar/PulsarApi_pb.ts';
import type { CommandInit } from '../../../lib/wire/commands.ts';
import type { TopicName } from '../../../lib/wire/topic-name.ts';
import type { BrokerConfig } from '../config.ts';
import type { BrokerMetrics } from '../metrics.ts';
import type { TopicOwnership } from '../ownership.ts';
import type { PolicyProvider } from '../policies.ts';
import type { TopicRegistry } from '../topics/registry.ts';
import type { AttachedConsumer, ClientInfo } from '../topics/topic.ts';
import type { ProducerSession } from './producer-session.ts';
import type { ConsumerSession } from './consumer-session.ts';

/**
 * Verifies CONNECT (and AUTH_RESPONSE) credentials; resolves with the role (and the token's expiry,
 * after which the connection is challenged or closed), rejects with an AuthenticationError code.
 */
export type Authenticator = (
  method: string,
  data: Uint8Array,
) => Promise<string | { readonly role: string; readonly expiresAtMs?: number }>;

export type { BrokerAuthorizer, TopicOperation };

export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly brokerId: string;
  /** pulsar://host:port this broker advertises. */
  readonly brokerServiceUrl: string;
  readonly webServiceUrl: string;
  readonly topics: TopicRegistry;
  readonly policies: PolicyProvider;
  readonly log: Logger;
  readonly metrics: BrokerMetrics;
  readonly authenticator?: Authenticator;
  /** Authorization of PRODUCER / SUBSCRIBE / LOOKUP...; undefined = everything is allowed. */
  readonly authorizer?: BrokerAuthorizer;
  /** Cluster ownership; undefined = every topic is served here. */
  readonly ownership?: TopicOwnership;
  /** A globally unique producer name. */
  generateProducerName(): string;
  /** A random consumer name for consumers that sent none. */
  generateConsumerName(): string;
}

export type ProducerSlot =
  | { readonly state: 'creating'; readonly requestId: bigint }
  | { readonly state: 'ready'; readonly session: ProducerSession };

export type ConsumerSlot =
  | { readonly state: 'creating'; readonly requestId: bigint }
  | { readonly state: 'ready'; readonly session: ConsumerSession; readonly attached: AttachedConsumer };

export interface ConnectionHandle {
  readonly ctx: BrokerContext;
  readonly client: ClientInfo;
  readonly producers: Map<bigint, ProducerSlot>;
  readonly consumers: Map<bigint, ConsumerSlot>;
  /** Queue one command frame. */
  send(init: CommandInit): void;
  /** Queue raw buffers: whole frames, or a payload frame's head and body. */
  writeRaw(...buffers: Buffer[]): void;
  /** ERROR {request_id, code, message} for an error value. */
  sendError(requestId: bigint, err: unknown): void;
  /** Socket below its outbound limit. */
  readonly writable: boolean;
  /** Called when writability changes (dispatch pauses/resumes). */
  onWritabilityChange(listener: (writable: boolean) => void): () => void;
  /** The role may do `op` on `topic` (throws AuthorizationError / AuthenticationError otherwise). */
  authorize(topic: TopicName, op: TopicOperation, subscription?: string): Promise<void>;
  /** The role may list the namespace's topics. */
  authorizeListTopics(namespace: string): Promise<void>;
  /** AUTH_RESPONSE to this broker's AUTH_CHALLENGE (token refresh). */
  authResponse(cmd: CommandAuthResponse): Promise<void>;
  /** Stop reading and decoding frames while any `by` holds a pause (publish rate throttling). */
  pauseInput(by: object): void;
  resumeInput(by: object): void;
  /** Account a SEND awaiting its receipt (inbound backpressure). */
  sendStarted(bytes: number): void;
  sendFinished(bytes: number): void;
  /** Close the connection (the stream cannot be trusted, or a protocol rule was broken). */
  close(reason: string, opts?: { destroy?: boolean }): void;
}
