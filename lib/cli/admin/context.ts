/** What every magnetar-admin command gets: a client for the chosen broker and the output mode. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AdminClient, CliError } from './client.ts';
import { type Output, stdoutOutput } from './output.ts';

export interface CliContext {
  client: AdminClient;
  out: Output;
}

export type ContextFactory = (cmd: Command) => CliContext;

export function globalOptions(cmd: Command): Record<string, unknown> {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  return root.opts();
}

export function defaultContext(cmd: Command): CliContext {
  const o = globalOptions(cmd);
  let token = (o.token as string | undefined) ?? process.env.MAGNETAR_ADMIN_TOKEN;
  if (o.tokenFile) {
    try {
      token = readFileSync(String(o.tokenFile), 'utf8').trim();
    } catch (e) {
      throw new CliError(`cannot read token file: ${(e as Error).message}`);
    }
  }
  const url = (o.adminUrl as string | undefined) ?? process.env.MAGNETAR_ADMIN_URL ?? 'http://127.0.0.1:8080';
  return { client: new AdminClient({ url, token }), out: stdoutOutput(Boolean(o.json)) };
}

/** Split "a,b,c" (commander option value) into a clean list. */
export function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function int(name: string) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new CliError(`${name} must be an integer, got "${value}"`);
    return Number(value);
  };
}

/** Parse a JSON argument (policy values); a bare word that is not JSON is taken as a string. */
export function jsonArg(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    if (/^[\w.-]+$/.test(value)) return value;
    throw new CliError(`value is not valid JSON: ${value}`);
  }
}
