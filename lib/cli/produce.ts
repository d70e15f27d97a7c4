/**
 * `magnetar produce <topic>`: send messages given as arguments (-m), files (-f) or stdin (one per
 * line), with an optional key, properties, compression and delivery delay; repeat them with -n.
 * Prints one line per message with its id (--json: a JSON object per line), then a summary on
 * stderr.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import type { OutgoingMessage } from '../client/index.ts';
import { CompressionTypes } from '../client/options.ts';
import {
  addConnectionOptions,
  type ConnectionFlags,
  clientFrom,
  collect,
  collectKeyValue,
  runProgram,
  toInt,
  UsageError,
} from './common.ts';

interface ProduceFlags extends ConnectionFlags {
  message?: string[];
  file?: string[];
  lines?: boolean;
  whole?: boolean;
  numProduce: number;
  key?: string;
  property?: Record<string, string>;
  compression: string;
  batching: boolean;
  deliverAfterMs?: number;
  json?: boolean;
}

export function produceCommand(): Command {
  const cmd = new Command('produce')
    .description('Send messages from arguments, files or stdin (one message per line) to a topic.')
    .argument('<topic>', 'topic name (short names mean persistent://public/default/<name>)')
    .option('-m, --message <text>', 'a message (repeatable)', collect)
    .option('-f, --file <path>', 'a file whose content is one message (repeatable)', collect)
    .option('--lines', 'split files into one message per line')
    .option('--whole', 'send stdin as a single message instead of one per line')
    .option('-n, --num-produce <n>', 'send each message this many times', toInt, 1)
    .option('-k, --key <key>', 'message key (partition routing, Key_Shared)')
    .option('-p, --property <key=value>', 'message property (repeatable)', collectKeyValue)
    .addOption(
      new Option('-c, --compression <type>', 'compression codec')
        .choices([...CompressionTypes])
        .default('NONE'),
    )
    .option('--no-batching', 'send every message as its own entry')
    .option('--deliver-after-ms <ms>', 'delay delivery (Shared subscriptions)', toInt)
    .option('--json', 'print a JSON object per message');
  addConnectionOptions(cmd);
  return cmd.action(async (topic: string, flags: ProduceFlags) => {
    if (flags.numProduce < 1) throw new UsageError('--num-produce must be at least 1');
    const payloads = await collectPayloads(flags);
    if (payloads.length === 0) throw new UsageError('nothing to send: give -m, -f, or lines on stdin');
    const client = clientFrom(flags);
    try {
      const producer = await client.createProducer({
        topic,
        compressionType: flags.compression as (typeof CompressionTypes)[number],
        batchingEnabled: flags.batching,
        blockIfQueueFull: true,
      });
      const sends: Promise<void>[] = [];
      let sent = 0;
      for (let round = 0; round < flags.numProduce; round++) {
        for (const payload of payloads) {
          const msg: OutgoingMessage = { payload, key: flags.key, properties: flags.property };
          if (flags.deliverAfterMs !== undefined) msg.deliverAfterMs = flags.deliverAfterMs;
          sends.push(
            producer.send(msg).then((id) => {
              sent++;
              const line = flags.json
                ? JSON.stringify({
                    messageId: id.toString(),
                    key: flags.key ?? null,
                    bytes: payload.byteLength,
                  })
                : id.toString();
              process.stdout.write(`${line}\n`);
            }),
          );
        }
      }
      await Promise.all(sends);
      await producer.close();
      process.stderr.write(`${sent} messages produced to ${producer.topic}\n`);
    } finally {
      await client.close();
    }
  });
}

async function collectPayloads(flags: ProduceFlags): Promise<Buffer[]> {
  const out: Buffer[] = (flags.message ?? []).map((m) => Buffer.from(m, 'utf8'));
  for (const path of flags.file ?? []) {
    let content: Buffer;
    try {
      content = readFileSync(path);
    } catch (err) {
      throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
    }
    if (flags.lines) out.push(...splitLines(content.toString('utf8')).map((l) => Buffer.from(l, 'utf8')));
    else out.push(content);
  }
  if (out.length === 0 && !process.stdin.isTTY) out.push(...(await readStdin(flags.whole === true)));
  return out;
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.length > 0);
}

async function readStdin(whole: boolean): Promise<Buffer[]> {
  if (whole) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return chunks.length > 0 ? [Buffer.concat(chunks)] : [];
  }
  const out: Buffer[] = [];
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.length > 0) out.push(Buffer.from(line, 'utf8'));
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  return runProgram(produceCommand().name('magnetar produce'), argv);
}
