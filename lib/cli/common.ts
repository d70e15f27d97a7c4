/**
 * What the client-side commands (produce, consume, perf) share: the connection options
 * (--service-url, --token, --token-file with MAGNETAR_SERVICE_URL / MAGNETAR_TOKEN), parsing of
 * repeatable key=value options, and the exit-code convention: 0 success, 1 failure (the coded
 * message on stderr), 2 bad usage.
 */
import { readFileSync } from 'node:fs';
import { type Command, CommanderError, Option } from 'commander';
import { PulsarClient } from '../client/index.ts';
import { isMagnetarError } from '../errors/index.ts';

export const DEFAULT_SERVICE_URL = 'pulsar://127.0.0.1:6650';

export class UsageError extends Error {}

export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('-s, --service-url <url>', 'broker service URL')
        .env('MAGNETAR_SERVICE_URL')
        .default(DEFAULT_SERVICE_URL),
    )
    .addOption(new Option('--token <jwt>', 'authentication token').env('MAGNETAR_TOKEN'))
    .option('--token-file <file>', 'read the authentication token from a file')
    .option('--operation-timeout-ms <ms>', 'bound on lookups, producer and consumer creation', toInt, 30_000);
}

export interface ConnectionFlags {
  serviceUrl: string;
  token?: string;
  tokenFile?: string;
  operationTimeoutMs: number;
}

export function clientFrom(flags: ConnectionFlags): PulsarClient {
  let token = flags.token;
  if (flags.tokenFile) {
    try {
      token = readFileSync(flags.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`cannot read --token-file: ${(err as Error).message}`);
    }
  }
  return new PulsarClient({
    serviceUrl: flags.serviceUrl,
    operationTimeoutMs: flags.operationTimeoutMs,
    authentication: token ? { token } : undefined,
  });
}

export function toInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`"${value}" is not an integer`);
  return n;
}

export function toNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`"${value}" is not a number`);
  return n;
}

/** Collects repeated `--property k=v` into a record. */
export function collectKeyValue(
  value: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new UsageError(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Run a commander program: parse, run the action, map errors to exit codes. Help and version
 * exit 0; usage errors 2; anything else 1 with its (coded) message.
 */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0
        ? 0
        : 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    const message = isMagnetarError(err) ? err.message : String((err as Error)?.stack ?? err);
    process.stderr.write(`error: ${message}\n`);
    return 1;
  }
}
