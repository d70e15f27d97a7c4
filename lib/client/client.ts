/**
 * PulsarClient: the entry point. It owns the connection pool (one connection per broker, shared
 * by every producer, consumer and lookup), the lookup service, and everything it created, which
 * `close` closes.
 */
import { randomBytes } from 'node:crypto';
import { type Logger, silentLogger } from '../log/index.ts';
import { LookupService, type NamespaceTopicsMode } from './connection/lookup.ts';
import { ConnectionPool } from './connection/pool.ts';
import { parseServiceUrl } from './connection/service-url.ts';
import { Consumer } from './consumer/consumer.ts';
import { Reader } from './consumer/reader.ts';
import type { ClientContext } from './context.ts';
import { clientErrors } from './errors.ts';
import {
  type ClientOptions,
  type ConsumerOptions,
  type ProducerOptions,
  type ReaderOptions,
  type ResolvedClientOptions,
  resolveClientOptions,
} from './options.ts';
import { Producer } from './producer/producer.ts';

interface Closeable {
  close(): Promise<void>;
}

export class PulsarClient {
  readonly options: ResolvedClientOptions;
  private readonly ctx: ClientContext;
  private readonly pool: ConnectionPool;
  private readonly lookupService: LookupService;
  private readonly log: Logger;
  private readonly open = new Set<Closeable>();
  private nextProducerId = 0;
  private nextConsumerId = 0;
  private closed = false;

  constructor(options: ClientOptions) {
    this.options = resolveClientOptions(options);
    const hosts = parseServiceUrl(this.options.serviceUrl);
    this.log = options.logger ?? silentLogger('client', `client-${randomBytes(3).toString('hex')}`);
    this.pool = new ConnectionPool(this.options, this.log);
    this.lookupService = new LookupService(this.pool, hosts, this.options.maxLookupRedirects);
    this.ctx = {
      options: this.options,
      pool: this.pool,
      lookup: this.lookupService,
      log: this.log,
      newProducerId: () => this.nextProducerId++,
      newConsumerId: () => this.nextConsumerId++,
    };
  }

  private track<T extends Closeable>(made: T): T {
    const close = made.close.bind(made);
    this.open.add(made);
    made.close = async () => {
      this.open.delete(made);
      await close();
    };
    return made;
  }

  private ensureOpen(): void {
    if (this.closed) throw clientErrors.make('ALREADY_CLOSED', { what: 'client' });
  }

  async createProducer(options: ProducerOptions): Promise<Producer> {
    this.ensureOpen();
    return this.track(await Producer.create(this.ctx, options));
  }

  async subscribe(options: ConsumerOptions): Promise<Consumer> {
    this.ensureOpen();
    return this.track(await Consumer.subscribe(this.ctx, options));
  }

  async createReader(options: ReaderOptions): Promise<Reader> {
    this.ensureOpen();
    return this.track(await Reader.create(this.ctx, options));
  }

  /** Partition count of a topic (0: not partitioned). */
  async getPartitionsForTopic(topic: string): Promise<number> {
    this.ensureOpen();
    return this.lookupService.partitions(topic);
  }

  /** Topics of a namespace (`tenant/ns`), as the broker lists them (partitions included). */
  async getTopicsOfNamespace(namespace: string, mode: NamespaceTopicsMode = 'persistent'): Promise<string[]> {
    this.ensureOpen();
    return this.lookupService.topicsOfNamespace(namespace, mode);
  }

  /** Close every producer, consumer and reader of this client, then the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.open].map((c) => c.close().catch(() => undefined)));
    await this.pool.closeAll();
  }
}
