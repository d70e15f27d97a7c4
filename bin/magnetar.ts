/**
 * `magnetar <command>`: one binary for the services and the tools. Each subcommand lives in its
 * own module and is loaded only when used, so `magnetar --help` stays fast.
 */
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

// Cache compiled code (type-stripped sources included) across runs: start-up is dominated by
// loading modules, and this roughly halves it (`magnetar standalone` must be ready in < 2 s).
enableCompileCache(fileURLToPath(new URL('../node_modules/.cache/magnetar-compile', import.meta.url)));

interface Subcommand {
  readonly summary: string;
  readonly run: (argv: string[]) => Promise<void>;
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** A tool module exporting `main(argv): Promise<exit code>`. */
async function runTool(path: string, argv: string[]): Promise<void> {
  const mod = (await import(path)) as { main(argv: string[]): Promise<number> };
  process.exitCode = await mod.main(argv);
}

async function runMain(path: string, argv: string[]): Promise<void> {
  process.argv = [process.argv[0], path, ...argv];
  await import(path);
}

const commands: Record<string, Subcommand> = {
  bookie: {
    summary: 'run a bookie (storage node)',
    run: (a) => runMain(here('../services/bookie/main.ts'), a),
  },
  broker: { summary: 'run a broker', run: (a) => runMain(here('../services/broker/main.ts'), a) },
  coordinator: {
    summary: 'run a coordinator (control plane)',
    run: (a) => runMain(here('../services/coordinator/main.ts'), a),
  },
  standalone: {
    summary: 'run bookie + broker + coordinator in one process (public/default ready)',
    run: (a) => runMain(here('../services/standalone/main.ts'), a),
  },
  produce: {
    summary: 'send messages from arguments, files or stdin',
    run: (a) => runTool(here('../lib/cli/produce.ts'), a),
  },
  consume: { summary: 'receive and print messages', run: (a) => runTool(here('../lib/cli/consume.ts'), a) },
  perf: {
    summary: 'load generation: perf produce | perf consume | perf e2e',
    run: (a) => runTool(here('../lib/cli/perf/main.ts'), a),
  },
  cluster: {
    summary: 'local multi-process cluster: cluster up | down | status',
    run: (a) => runTool(here('../lib/cli/cluster/main.ts'), a),
  },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(14)}${c.summary}`);
  return [
    'usage: magnetar <command> [options]',
    '',
    'commands:',
    ...rows,
    '',
    'magnetar <command> --help for the options of one command.',
  ].join('\n');
}

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`magnetar: unknown command "${name}"\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  await cmd.run(rest);
}

await main();
