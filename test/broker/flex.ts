/**
 * pulsar-flex (npm, unmodified) as a real third-party client in tests: typed handles for the few
 * members used, message collection, and cleanup of every producer/consumer a test created.
 */
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, beforeEach, inject } from 'vitest';
import type { BrokerDeps } from '../../services/broker/broker.ts';
import { stopAll } from '../harness/index.ts';
import { type StorageCluster, startStorageBroker, startStorageCluster } from './cluster.ts';

export interface FlexMessage {
  message: Buffer;
  properties: Record<string, string>;
  redeliveryCount: number;
  command: { messageId: { ledgerid: number; entryid: number; partition: number; batchIndex: number } };
  ack(options?: { type?: number }): Promise<unknown>;
}

export interface FlexProducer {
  create(): Promise<void>;
  sendMessage(m: { payload: string; properties?: Record<string, string> }): Promise<unknown>;
  sendBatch(b: { messages: { payload: string; properties?: Record<string, string> }[] }): Promise<unknown>;
  close(): Promise<void>;
  _client: { getCnx(): { close(): void } | null };
}

export interface FlexConsumer {
  subscribe(): Promise<void>;
  run(o: { onMessage: (m: FlexMessage) => Promise<void> | void; autoAck?: boolean }): Promise<void>;
  unsubscribe(): Promise<void>;
  onStateChange(handler: (s: { previousState: string; newState: string }) => void): void;
  getState(): string;
  _client: { getCnx(): { close(): void } | null };
  _receiveQueue: { length(): number };
}

interface FlexModule {
  Producer: (new (o: Record<string, unknown>) => FlexProducer) & { ACCESS_MODES: Record<string, number> };
  Consumer: (new (
    o: Record<string, unknown>,
  ) => FlexConsumer) & {
    SUB_TYPES: Record<'EXCLUSIVE' | 'SHARED' | 'FAILOVER' | 'KEY_SHARED', number>;
    ACK_TYPES: Record<'INDIVIDUAL' | 'CUMULATIVE' | 'NEGATIVE', number>;
  };
  logLevel: Record<string, number>;
}

export const flex = createRequire(import.meta.url)('pulsar-flex') as FlexModule;
export const { Producer, Consumer } = flex;

/** Creates flex clients for one broker and cleans them all up. */
export class FlexPool {
  private readonly discovery: string;
  private readonly producers: FlexProducer[] = [];
  private readonly consumers: FlexConsumer[] = [];

  constructor(port: number) {
    this.discovery = `127.0.0.1:${port}`;
  }

  producer(topic: string, extra: Record<string, unknown> = {}): FlexProducer {
    const p = new Producer({
      topic,
      discoveryServers: [this.discovery],
      logLevel: flex.logLevel.NOTHING,
      ...extra,
    });
    this.producers.push(p);
    return p;
  }

  consumer(
    topic: string,
    subscription: string,
    subType: number,
    extra: Record<string, unknown> = {},
  ): FlexConsumer {
    const c = new Consumer({
      topic,
      subscription,
      subType,
      discoveryServers: [this.discovery],
      logLevel: flex.logLevel.NOTHING,
      reconnectInterval: 500,
      ...extra,
    });
    this.consumers.push(c);
    return c;
  }

  async closeAll(): Promise<void> {
    for (const p of this.producers) {
      await p.close().catch(() => undefined);
      p._client.getCnx()?.close();
    }
    for (const c of this.consumers) {
      await c.unsubscribe().catch(() => undefined);
      c._client.getCnx()?.close();
    }
  }
}

/**
 * For the calling file: one bookie and one in-process broker (started before its tests, stopped
 * after them) and a fresh FlexPool on that broker for every test, closed after it.
 */
export function useFlexBroker(
  overrides: Record<string, unknown>,
  deps: Partial<BrokerDeps> = {},
): { readonly broker: Awaited<ReturnType<typeof startStorageBroker>>; readonly pool: FlexPool } {
  let sc: StorageCluster | undefined;
  let broker: Awaited<ReturnType<typeof startStorageBroker>> | undefined;
  let pool: FlexPool | undefined;
  beforeAll(async () => {
    sc = await startStorageCluster(inject('etcdEndpoint'), 1, 1);
    broker = await startStorageBroker(sc, overrides, deps);
  });
  beforeEach(() => {
    pool = new FlexPool(broker!.brokerServicePort);
  });
  afterEach(async () => {
    await pool?.closeAll();
  });
  afterAll(async () => {
    await broker?.storageClose();
    await sc?.stop();
    await stopAll();
  });
  return {
    get broker() {
      return broker!;
    },
    get pool() {
      return pool!;
    },
  };
}

export function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 25);
    };
    tick();
  });
}
