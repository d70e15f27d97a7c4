/**
 * Traffic on one topic while the topic moves (broker restart, failover, unload): a producer sends
 * numbered payloads `m0`, `m1`, ... without waiting, a consumer receives and acknowledges in a loop,
 * and an `audit` subscription that never acknowledges keeps every stored entry from being trimmed,
 * so `readStored` sees them all. The checks stay in the tests; this only records what happened.
 */
import {
  MessageId,
  type Producer,
  type PulsarClient,
  type SubscriptionType,
} from '../../lib/client/index.ts';

export interface TopicTrafficOptions {
  subscriptionType: SubscriptionType;
  producerName?: string;
  batchingMaxPublishDelayMs: number;
  /** The sender yields for 5 ms after every this many sends (so receipts and moves interleave). */
  pauseEvery: number;
}

export interface TopicTraffic {
  readonly producer: Producer;
  /** Payloads the broker acknowledged. */
  readonly acked: Set<string>;
  /** Sends that failed, as `payload: error`. */
  readonly failed: string[];
  /** Payloads the consumer received. */
  readonly seen: Set<string>;
  /** Payloads in the order of their first delivery (redeliveries not repeated). */
  readonly firstSeen: string[];
  /** Send the next `count` payloads without waiting for receipts. */
  send(count: number): Promise<void>;
  allAckedReceived(): boolean;
  /** End the receive loop (after it finished its current receive). */
  stopReceiving(): Promise<void>;
  /** Every payload stored on the topic, from the earliest entry, via a reader. */
  readStored(): Promise<string[]>;
  closeAudit(): Promise<void>;
}

export async function startTopicTraffic(
  client: PulsarClient,
  topic: string,
  opts: TopicTrafficOptions,
): Promise<TopicTraffic> {
  const consumer = await client.subscribe({
    topic,
    subscription: 'sub',
    subscriptionType: opts.subscriptionType,
    ackGroupTimeMs: 10,
  });
  const audit = await client.subscribe({ topic, subscription: 'audit', receiverQueueSize: 1 });
  const producer = await client.createProducer({
    topic,
    ...(opts.producerName === undefined ? {} : { producerName: opts.producerName }),
    batchingMaxPublishDelayMs: opts.batchingMaxPublishDelayMs,
  });
  const acked = new Set<string>();
  const failed: string[] = [];
  const seen = new Set<string>();
  const firstSeen: string[] = [];
  let receiving = true;
  const receiveLoop = (async () => {
    while (receiving) {
      try {
        const m = await consumer.receive(200);
        const text = m.text();
        if (!seen.has(text)) firstSeen.push(text);
        seen.add(text);
        consumer.ack(m);
      } catch {
        // receive timeouts while the topic moves
      }
    }
  })();
  let n = 0;
  return {
    producer,
    acked,
    failed,
    seen,
    firstSeen,
    async send(count) {
      for (let i = 0; i < count; i++) {
        const payload = `m${n++}`;
        producer.sendAsync({ payload }, (err) =>
          err ? failed.push(`${payload}: ${err.message}`) : acked.add(payload),
        );
        if (i % opts.pauseEvery === 0) await new Promise((r) => setTimeout(r, 5));
      }
    },
    allAckedReceived: () => [...acked].every((p) => seen.has(p)),
    async stopReceiving() {
      receiving = false;
      await receiveLoop;
    },
    async readStored() {
      const reader = await client.createReader({ topic, startMessageId: MessageId.earliest });
      const stored: string[] = [];
      while (await reader.hasMessageAvailable()) stored.push((await reader.readNext(10_000)).text());
      await reader.close();
      return stored;
    },
    closeAudit: () => audit.close(),
  };
}
