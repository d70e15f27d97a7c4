/** Options every perf mode shares (connection, topics, bounds, output) and their checks. */
import { type Command, Option } from 'commander';
import { addConnectionOptions, type ConnectionFlags, toInt, toNumber, UsageError } from '../common.ts';

export interface PerfFlags extends ConnectionFlags {
  numTopics: number;
  durationS: number;
  numMessages: number;
  json?: boolean;
}

export function addPerfOptions(cmd: Command): Command {
  addConnectionOptions(cmd);
  return cmd
    .argument('<topic...>', 'topic(s); with --num-topics N each name becomes <name>-0 ... <name>-(N-1)')
    .option('--num-topics <n>', 'expand each topic into this many', toInt, 1)
    .option(
      '-d, --duration-s <s>',
      'stop after this many seconds (0: only --num-messages bounds the run)',
      toNumber,
      60,
    )
    .option(
      '-m, --num-messages <n>',
      'stop after this many messages (0: only the duration bounds the run)',
      toInt,
      0,
    )
    .addOption(new Option('--json', 'print the final summary as JSON on stdout (live lines go to stderr)'));
}

/** Topic names after --num-topics expansion; checks that the run is bounded. */
export function resolvePerf(topics: string[], flags: PerfFlags): string[] {
  if (flags.durationS < 0 || flags.numMessages < 0)
    throw new UsageError('--duration-s and --num-messages cannot be negative');
  if (flags.durationS === 0 && flags.numMessages === 0) {
    throw new UsageError('a run must be bounded: give --duration-s or --num-messages');
  }
  if (flags.numTopics < 1) throw new UsageError('--num-topics must be at least 1');
  if (flags.numTopics === 1) return topics;
  return topics.flatMap((t) => Array.from({ length: flags.numTopics }, (_, i) => `${t}-${i}`));
}

/** Where live lines go: stderr with --json (stdout carries the summary), else stdout. */
export function liveOut(flags: PerfFlags): (line: string) => void {
  const stream = flags.json ? process.stderr : process.stdout;
  return (line) => stream.write(`${line}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A run's end: after durationS, after numMessages, or on Ctrl-C. */
export class RunBounds {
  private readonly endAt: number;
  private readonly maxMessages: number;
  private interrupted = false;
  private readonly onSignal = () => {
    this.interrupted = true;
  };

  constructor(flags: PerfFlags, now = performance.now()) {
    this.endAt = flags.durationS > 0 ? now + flags.durationS * 1000 : Number.POSITIVE_INFINITY;
    this.maxMessages = flags.numMessages > 0 ? flags.numMessages : Number.POSITIVE_INFINITY;
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /** Messages still allowed by the count bound. */
  remaining(done: number): number {
    return this.maxMessages - done;
  }

  over(done: number, now = performance.now()): boolean {
    return this.interrupted || now >= this.endAt || done >= this.maxMessages;
  }

  release(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
