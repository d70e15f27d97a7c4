/**
 * What the protocol handlers need from the broker (BrokerContext) and from their connection
 * (ConnectionHandle). Kept as interfaces so handlers stay small and testable.
 */
import type { Logger } from '../../../lib/log/index.ts';
import type { CommandInit } from '../../../lib/wire/commands.ts';
import type { BrokerConfig } from '../config.ts';
import type { BrokerMetrics } from '../metrics.ts';
import type { TopicOwnership } from '../ownership.ts';
import type { PolicyProvider } from '../policies.ts';
import type { TopicRegistry } from '../topics/registry.ts';
import type { AttachedConsumer, ClientInfo } from '../topics/topic.ts';
import type { ProducerSession } from './producer-session.ts';
import type { ConsumerSession } from './consumer-session.ts';

/** Verifies CONNECT credentials; resolves with the role, rejects with AUTHENTICATION_FAILED. */
export type Authenticator = (method: string, data: Uint8Array) => Promise<string>;

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
  /** Account a SEND awaiting its receipt (inbound backpressure). */
  sendStarted(bytes: number): void;
  sendFinished(bytes: number): void;
  /** Close the connection (the stream cannot be trusted, or a protocol rule was broken). */
  close(reason: string, opts?: { destroy?: boolean }): void;
}
