/**
 * `magnetar perf consume`: --num-consumers consumers per topic receive in batches and acknowledge;
 * reports rate, MB/s and publish → receive latency (from the messages' publish time, ms
 * resolution: meaningful when producer and consumer clocks agree, e.g. on one machine).
 */
import { Command, Option } from 'commander';
import type { Consumer } from '../../client/index.ts';
import { type SubscriptionType, SubscriptionTypes } from '../../client/options.ts';
import { clientFrom, toInt, UsageError } from '../common.ts';
import { addPerfOptions, liveOut, type PerfFlags, RunBounds, resolvePerf } from './options.ts';
import { liveLine, type Summary, summaryText } from './report.ts';
import { PerfStats } from './stats.ts';

export interface ConsumeFlags extends PerfFlags {
  subscription: string;
  subscriptionType: SubscriptionType;
  numConsumers: number;
  receiverQueueSize: number;
  position: 'latest' | 'earliest';
}

export function addConsumerOptions(cmd: Command): Command {
  return cmd
    .option('-S, --subscription <name>', 'subscription', 'perf-sub')
    .addOption(
      new Option('-t, --subscription-type <type>', 'subscription type')
        .choices([...SubscriptionTypes])
        .default('Exclusive'),
    )
    .option('--num-consumers <n>', 'consumers per topic', toInt, 1)
    .option('--receiver-queue-size <n>', 'receiver queue per consumer', toInt, 1000)
    .addOption(
      new Option('-p, --position <where>', 'start of a new subscription')
        .choices(['latest', 'earliest'])
        .default('latest'),
    );
}

export function perfConsumeCommand(): Command {
  const cmd = new Command('consume').description(
    'Consume and report rate, MB/s and publish → receive latency every second.',
  );
  addPerfOptions(cmd);
  addConsumerOptions(cmd);
  return cmd.action(async (topics: string[], flags: ConsumeFlags) => {
    const out = liveOut(flags);
    const client = clientFrom(flags);
    try {
      const consumers = await subscribeAll(client, resolvePerf(topics, flags), flags);
      const stats = new PerfStats();
      const bounds = new RunBounds(flags);
      const summary = await drainConsumers(
        consumers,
        stats,
        bounds,
        (m) => Date.now() - m.publishTime,
        out,
        'consume',
        () => '',
      );
      process.stdout.write(`${flags.json ? JSON.stringify(summary) : summaryText(summary)}\n`);
    } finally {
      await client.close();
    }
  });
}

export async function subscribeAll(
  client: ReturnType<typeof clientFrom>,
  topics: string[],
  flags: ConsumeFlags,
): Promise<Consumer[]> {
  if (flags.numConsumers < 1) throw new UsageError('--num-consumers must be at least 1');
  const consumers: Consumer[] = [];
  for (const topic of topics) {
    for (let i = 0; i < flags.numConsumers; i++) {
      consumers.push(
        await client.subscribe({
          topic,
          subscription: flags.subscription,
          subscriptionType: flags.subscriptionType,
          receiverQueueSize: flags.receiverQueueSize,
          subscriptionInitialPosition: flags.position === 'earliest' ? 'Earliest' : 'Latest',
          // timeout 0: batchReceive takes what is queued without waiting (no added latency)
          batchReceivePolicy: { maxNumMessages: 1000, timeoutMs: 0 },
        }),
      );
    }
  }
  return consumers;
}

/** Receive (and ack) on every consumer until the bounds say stop, reporting every second. */
export async function drainConsumers(
  consumers: Consumer[],
  stats: PerfStats,
  bounds: RunBounds,
  latencyOf: (m: { payload: Buffer; publishTime: number }) => number,
  out: (line: string) => void,
  mode: string,
  extraLine: () => string,
  liveLines = true,
): Promise<Summary> {
  const reporter = liveLines
    ? setInterval(() => out(liveLine(mode, stats.takeInterval(), extraLine())), 1000)
    : undefined;
  const loops = consumers.map(async (c) => {
    while (!bounds.over(stats.messages)) {
      // Wait for one message (bounded, so the run's end is noticed), then take what else is queued.
      const first = await c.receive(200).catch((err: unknown) => {
        if ((err as { code?: string }).code === 'TIMEOUT') return undefined;
        throw err;
      });
      if (!first) continue;
      for (const m of [first, ...(await c.batchReceive())]) {
        stats.record(m.payload.byteLength, latencyOf(m));
        c.ack(m);
      }
    }
  });
  try {
    await Promise.all(loops);
  } finally {
    if (reporter) clearInterval(reporter);
    bounds.release();
  }
  const durationS = (performance.now() - stats.startedAt) / 1000;
  return {
    mode,
    durationS: Math.round(durationS * 10) / 10,
    messages: stats.messages,
    bytes: stats.bytes,
    msgPerS: Math.round(stats.messages / durationS),
    mbPerS: Math.round((stats.bytes / durationS / 1e6) * 100) / 100,
    errors: stats.errors,
    latencyMs: stats.totalLatency(),
    clientCpuMicrosPerMessage: stats.cpuMicrosPerMessage(),
    consumers: consumers.length,
  };
}
