/**
 * `magnetar consume <topic>`: receive N messages (default 1) or follow the topic (-n 0 / --follow)
 * and print each message's payload, key and properties (--json: one JSON object per line).
 * Messages are acknowledged unless --no-ack. Ctrl-C stops cleanly.
 */
import { Command, Option } from 'commander';
import type { Message } from '../client/index.ts';
import { SubscriptionTypes } from '../client/options.ts';
import {
  addConnectionOptions,
  type ConnectionFlags,
  clientFrom,
  runProgram,
  toInt,
  UsageError,
} from './common.ts';

interface ConsumeFlags extends ConnectionFlags {
  subscription: string;
  subscriptionType: (typeof SubscriptionTypes)[number];
  position: 'latest' | 'earliest';
  numMessages: number;
  follow?: boolean;
  idleTimeoutMs?: number;
  ack: boolean;
  json?: boolean;
  encoding: 'utf8' | 'hex' | 'base64';
}

export function consumeCommand(): Command {
  const cmd = new Command('consume')
    .description('Receive messages from a topic and print their payloads, keys and properties.')
    .argument('<topic>', 'topic name (short names mean persistent://public/default/<name>)')
    .option('-S, --subscription <name>', 'subscription name', 'magnetar-cli')
    .addOption(
      new Option('-t, --subscription-type <type>', 'subscription type')
        .choices([...SubscriptionTypes])
        .default('Exclusive'),
    )
    .addOption(
      new Option('-p, --position <where>', 'where a new subscription starts')
        .choices(['latest', 'earliest'])
        .default('latest'),
    )
    .option('-n, --num-messages <n>', 'messages to receive (0: follow until Ctrl-C)', toInt, 1)
    .option('-f, --follow', 'keep receiving until Ctrl-C (same as -n 0)')
    .option('--idle-timeout-ms <ms>', 'stop when no message arrives for this long', toInt)
    .option('--no-ack', 'do not acknowledge the messages')
    .option('--json', 'print a JSON object per message')
    .addOption(
      new Option('--encoding <enc>', 'how to print payloads')
        .choices(['utf8', 'hex', 'base64'])
        .default('utf8'),
    );
  addConnectionOptions(cmd);
  return cmd.action(async (topic: string, flags: ConsumeFlags) => {
    if (flags.numMessages < 0) throw new UsageError('--num-messages must be 0 (follow) or more');
    const limit = flags.follow ? 0 : flags.numMessages;
    const client = clientFrom(flags);
    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const onSignal = () => stop();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let received = 0;
    try {
      const consumer = await client.subscribe({
        topic,
        subscription: flags.subscription,
        subscriptionType: flags.subscriptionType,
        subscriptionInitialPosition: flags.position === 'earliest' ? 'Earliest' : 'Latest',
      });
      while (limit === 0 || received < limit) {
        const next = consumer.receive(flags.idleTimeoutMs).then(
          (m) => m,
          (err: unknown) => {
            if ((err as { code?: string }).code === 'TIMEOUT') return 'idle' as const;
            throw err;
          },
        );
        const got = await Promise.race([next, stopped.then(() => 'stopped' as const)]);
        if (got === 'stopped' || got === 'idle') break;
        process.stdout.write(`${format(got, flags)}\n`);
        if (flags.ack) consumer.ack(got);
        received++;
      }
      await consumer.close();
      process.stderr.write(`${received} messages received\n`);
      if (limit > 0 && received < limit) process.exitCode = 1;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await client.close();
    }
  });
}

function format(m: Message, flags: ConsumeFlags): string {
  const payload = m.payload.toString(flags.encoding);
  if (flags.json) {
    return JSON.stringify({
      topic: m.topic,
      messageId: m.messageId.toString(),
      key: m.key ?? null,
      properties: m.properties,
      publishTime: m.publishTime,
      eventTime: m.eventTime || null,
      redeliveryCount: m.redeliveryCount,
      payload,
    });
  }
  const props = Object.entries(m.properties)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `----- got message -----\nkey:[${m.key ?? 'null'}], properties:[${props}], content:${payload}`;
}

export async function main(argv: string[]): Promise<number> {
  return runProgram(consumeCommand().name('magnetar consume'), argv);
}
