/**
 * `magnetar perf e2e`: producers and consumers in this process on the same topics; each payload
 * starts with its send time (float64, ms since the epoch at µs precision), so the consumer side
 * measures end-to-end latency (send → receive) precisely; the producer side reports publish
 * latency (send → receipt). Consumers subscribe before the producers start.
 */
import type { Command } from 'commander';
import { clientFrom } from '../common.ts';
import { addConsumerOptions, type ConsumeFlags, drainConsumers, subscribeAll } from './consume.ts';
import { liveOut, RunBounds, resolvePerf } from './options.ts';
import { driveProducers, perfProduceCommand } from './produce.ts';
import { latencyText, summaryText } from './report.ts';
import { PerfStats } from './stats.ts';

const nowEpochMs = () => performance.timeOrigin + performance.now();

export function perfE2eCommand(): Command {
  // Same options as perf produce, plus the consumer's.
  const cmd = perfProduceCommand()
    .name('e2e')
    .description(
      'Produce and consume in one process; report publish latency and end-to-end latency (send → receive).',
    );
  addConsumerOptions(cmd);
  cmd.action(async (topics: string[], flags: Parameters<typeof runE2e>[1]) =>
    runE2e(resolvePerf(topics, flags), flags),
  );
  return cmd;
}

export async function runE2e(
  topics: string[],
  flags: ConsumeFlags & Parameters<typeof driveProducers>[1],
): Promise<void> {
  const size = Math.max(8, flags.size);
  const out = liveOut(flags);
  const client = clientFrom(flags);
  try {
    const consumers = await subscribeAll(client, topics, flags);
    const producers = [];
    for (const topic of topics) {
      for (let i = 0; i < flags.numProducers; i++) {
        producers.push(
          await client.createProducer({
            topic,
            batchingEnabled: flags.batching,
            batchingMaxMessages: flags.batchMaxMessages,
            batchingMaxBytes: flags.batchMaxBytes,
            batchingMaxPublishDelayMs: flags.batchDelayMs,
            compressionType: flags.compression,
            maxPendingMessages: flags.maxPending,
            sendTimeoutMs: 0,
          }),
        );
      }
    }
    const received = new PerfStats();
    const consuming = drainConsumers(
      consumers,
      received,
      new RunBounds({ ...flags, durationS: flags.durationS > 0 ? flags.durationS + 10 : 0 }),
      (m) => nowEpochMs() - m.payload.readDoubleBE(0),
      () => undefined,
      'e2e',
      () => '',
      false,
    );
    const published = await driveProducers(
      producers,
      { ...flags, size },
      out,
      'publish',
      (template) => {
        const buf = Buffer.from(template);
        buf.writeDoubleBE(nowEpochMs(), 0);
        return buf;
      },
      () => {
        const r = received.takeInterval();
        return ` | consumed ${r.msgPerS} msg/s e2e ${latencyText(r.latency)}`;
      },
    );
    // Let the consumers catch up with what was published (bounded), then stop them.
    const deadline = performance.now() + 10_000;
    while (received.messages < published.messages && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    for (const c of consumers) await c.close();
    const consumed = await consuming.catch(() => undefined);
    const summary = {
      ...published,
      mode: 'e2e',
      consumedMessages: received.messages,
      e2eLatencyMs: received.totalLatency(),
      consumers: consumed?.consumers ?? consumers.length,
    };
    process.stdout.write(`${flags.json ? JSON.stringify(summary) : summaryText(summary)}\n`);
  } finally {
    await client.close();
  }
}
