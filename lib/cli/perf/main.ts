/** `magnetar perf <produce|consume|e2e>`: pulsar-perf-style load generation (see README.md). */
import { Command } from 'commander';
import { runProgram } from '../common.ts';
import { perfConsumeCommand } from './consume.ts';
import { perfE2eCommand } from './e2e.ts';
import { perfProduceCommand } from './produce.ts';

export function perfProgram(): Command {
  return new Command('magnetar perf')
    .description('Load generation with a live line every second and a final summary (--json for machines).')
    .addCommand(perfProduceCommand())
    .addCommand(perfConsumeCommand())
    .addCommand(perfE2eCommand());
}

export async function main(argv: string[]): Promise<number> {
  return runProgram(perfProgram(), argv);
}
