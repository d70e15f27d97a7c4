/**
 * `magnetar perf produce`: open-loop load at --rate msg/s (0: as fast as the pending windows
 * allow) from --num-producers producers per topic; latency is send → broker receipt.
 */
import { randomBytes } from 'node:crypto';
import { Command, Option } from 'commander';
import type { Producer } from '../../client/index.ts';
import { CompressionTypes } from '../../client/options.ts';
import { withTimeout } from '../../client/util/retry.ts';
import { clientFrom, toInt, toNumber, UsageError } from '../common.ts';
import { addPerfOptions, liveOut, type PerfFlags, RunBounds, resolvePerf, sleep } from './options.ts';
import { Pacer } from './pacer.ts';
import { liveLine, type Summary, summaryText } from './report.ts';
import { PerfStats } from './stats.ts';

interface ProduceFlags extends PerfFlags {
  rate: number;
  size: number;
  numProducers: number;
  batching: boolean;
  batchMaxMessages: number;
  batchMaxBytes: number;
  batchDelayMs: number;
  compression: (typeof CompressionTypes)[number];
  maxPending: number;
  keys: number;
}

export function perfProduceCommand(): Command {
  const cmd = new Command('produce').description(
    'Produce load and report rate, MB/s and publish latency every second.',
  );
  addPerfOptions(cmd);
  return cmd
    .option('-r, --rate <msg/s>', 'total target rate (0: as fast as possible)', toNumber, 100)
    .option('--size <bytes>', 'message size', toInt, 1024)
    .option('--num-producers <n>', 'producers per topic', toInt, 1)
    .option('--no-batching', 'disable batching')
    .option('--batch-max-messages <n>', 'batching: messages per batch', toInt, 1000)
    .option('--batch-max-bytes <n>', 'batching: bytes per batch', toInt, 128 * 1024)
    .option('--batch-delay-ms <ms>', 'batching: publish delay', toInt, 10)
    .addOption(
      new Option('-c, --compression <type>', 'compression').choices([...CompressionTypes]).default('NONE'),
    )
    .option('--max-pending <n>', 'pending messages per producer', toInt, 1000)
    .option('--keys <n>', 'cycle over this many message keys (0: no key)', toInt, 0)
    .action(async (topics: string[], flags: ProduceFlags) => runProduce(resolvePerf(topics, flags), flags));
}

export async function runProduce(topics: string[], flags: ProduceFlags): Promise<void> {
  if (flags.size < 0 || flags.numProducers < 1)
    throw new UsageError('--size ≥ 0 and --num-producers ≥ 1 required');
  const out = liveOut(flags);
  const client = clientFrom(flags);
  try {
    const producers: Producer[] = [];
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
    const summary = await driveProducers(producers, flags, out, 'produce');
    process.stdout.write(`${flags.json ? JSON.stringify(summary) : summaryText(summary)}\n`);
  } finally {
    await client.close();
  }
}

/** Send until the bounds say stop, reporting every second; returns the summary. */
export async function driveProducers(
  producers: Producer[],
  flags: ProduceFlags,
  out: (line: string) => void,
  mode: string,
  payloadFor: (buf: Buffer) => Buffer = (b) => b,
  extraLine: () => string = () => '',
): Promise<Summary> {
  const payload = randomBytes(flags.size);
  const keys = Array.from({ length: flags.keys }, (_, i) => `key-${i}`);
  const stats = new PerfStats();
  const bounds = new RunBounds(flags);
  const pacers = producers.map(() => new Pacer(flags.rate / producers.length, performance.now()));
  let sent = 0;
  let nextReport = performance.now() + 1000;
  const send = (p: Producer) => {
    const t0 = performance.now();
    const msg = { payload: payloadFor(payload), key: keys.length > 0 ? keys[sent % keys.length] : undefined };
    sent++;
    p.sendAsync(msg, (err) => {
      if (err) stats.errors++;
      else stats.record(payload.byteLength, performance.now() - t0);
    });
  };
  try {
    while (!bounds.over(sent)) {
      const now = performance.now();
      for (let i = 0; i < producers.length && !bounds.over(sent, now); i++) {
        const p = producers[i];
        let due = Math.min(pacers[i].due(now), bounds.remaining(sent));
        while (due-- > 0 && p.pendingMessages < flags.maxPending) {
          send(p);
          pacers[i].sentOne();
        }
      }
      if (performance.now() >= nextReport) {
        out(liveLine(mode, stats.takeInterval(), extraLine()));
        nextReport += 1000;
      }
      if (pacers[0].unlimited && producers.every((p) => p.pendingMessages >= flags.maxPending)) {
        await Promise.race([Promise.any(producers.map((p) => p.waitForCapacity())), sleep(50)]);
      } else {
        // Wake about once per message at low rates, every millisecond at high ones.
        await sleep(flags.rate > 0 ? Math.min(100, Math.max(1, Math.floor(1000 / flags.rate))) : 1);
      }
    }
    await withTimeout(Promise.all(producers.map((p) => p.flush())), 30_000, 'final flush').catch(
      () => undefined,
    );
  } finally {
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
    targetRate: flags.rate,
    sizeBytes: flags.size,
    producers: producers.length,
    batching: flags.batching,
    compression: flags.compression,
  };
}
