/**
 * Binary lookup (pulsar-protocol.md §2.6, §5.2.3): LOOKUP on a connection to the service URL,
 * following Redirect answers (re-asking the named broker with the answer's authoritative flag)
 * up to maxLookupRedirects; PARTITIONED_METADATA for partition counts; GET_TOPICS_OF_NAMESPACE for
 * pattern subscriptions. The service URL's hosts are used in turn.
 */

import { CommandTypes, LookupType, PartitionedMetadataLookupType, TopicsMode } from '../../wire/protocol.ts';
import { clientErrors, fromServerError } from '../errors.ts';
import type { ConnectionPool } from './pool.ts';
import { brokerAddress } from './service-url.ts';

export interface LookupResult {
  /** The broker that owns the topic. */
  readonly logicalAddress: string;
  /** Where to connect (the service URL when the answer says to go through a proxy). */
  readonly physicalAddress: string;
}

export type NamespaceTopicsMode = 'persistent' | 'non-persistent' | 'all';

export class LookupService {
  private readonly pool: ConnectionPool;
  private readonly serviceHosts: readonly string[];
  private readonly maxRedirects: number;
  private nextHost = 0;

  constructor(pool: ConnectionPool, serviceHosts: readonly string[], maxRedirects: number) {
    this.pool = pool;
    this.serviceHosts = serviceHosts;
    this.maxRedirects = maxRedirects;
  }

  private serviceHost(): string {
    const host = this.serviceHosts[this.nextHost % this.serviceHosts.length];
    this.nextHost++;
    return host;
  }

  async lookup(topic: string): Promise<LookupResult> {
    const serviceHost = this.serviceHost();
    let logical = serviceHost;
    let physical = serviceHost;
    let authoritative = false;
    for (let redirects = 0; ; redirects++) {
      const cnx = await this.pool.get(logical, physical);
      const requestId = cnx.newRequestId();
      const cmd = await cnx.request(
        { type: CommandTypes.LOOKUP, lookupTopic: { topic, requestId: BigInt(requestId), authoritative } },
        requestId,
        `LOOKUP ${topic}`,
      );
      const r = cmd.lookupTopicResponse;
      if (!r) throw clientErrors.make('LOOKUP_FAILED', { topic, reason: 'unexpected answer' });
      if (r.response === LookupType.Failed) throw fromServerError(r.error, r.message, { topic });
      if (!r.brokerServiceUrl)
        throw clientErrors.make('LOOKUP_FAILED', { topic, reason: 'answer without a broker URL' });
      const target = brokerAddress(r.brokerServiceUrl);
      const through = r.proxyThroughServiceUrl ? serviceHost : target;
      if (r.response === LookupType.Connect) return { logicalAddress: target, physicalAddress: through };
      if (redirects >= this.maxRedirects) {
        throw clientErrors.make('TOO_MANY_REDIRECTS', { topic, max: this.maxRedirects });
      }
      logical = target;
      physical = through;
      authoritative = r.authoritative;
    }
  }

  /** Partitions of a topic; 0 for a non-partitioned topic. */
  async partitions(topic: string): Promise<number> {
    const host = this.serviceHost();
    const cnx = await this.pool.get(host);
    const requestId = cnx.newRequestId();
    const cmd = await cnx.request(
      { type: CommandTypes.PARTITIONED_METADATA, partitionMetadata: { topic, requestId: BigInt(requestId) } },
      requestId,
      `PARTITIONED_METADATA ${topic}`,
    );
    const r = cmd.partitionMetadataResponse;
    if (!r) throw clientErrors.make('LOOKUP_FAILED', { topic, reason: 'unexpected answer' });
    if (r.response === PartitionedMetadataLookupType.Failed)
      throw fromServerError(r.error, r.message, { topic });
    return r.partitions;
  }

  async topicsOfNamespace(namespace: string, mode: NamespaceTopicsMode): Promise<string[]> {
    const host = this.serviceHost();
    const cnx = await this.pool.get(host);
    const requestId = cnx.newRequestId();
    const wireMode =
      mode === 'persistent'
        ? TopicsMode.PERSISTENT
        : mode === 'non-persistent'
          ? TopicsMode.NON_PERSISTENT
          : TopicsMode.ALL;
    const cmd = await cnx.request(
      {
        type: CommandTypes.GET_TOPICS_OF_NAMESPACE,
        getTopicsOfNamespace: { requestId: BigInt(requestId), namespace, mode: wireMode },
      },
      requestId,
      `GET_TOPICS_OF_NAMESPACE ${namespace}`,
    );
    return cmd.getTopicsOfNamespaceResponse?.topics ?? [];
  }
}
