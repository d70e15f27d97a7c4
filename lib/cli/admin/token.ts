/**
 * magnetar-admin token: create-secret-key, create-key-pair, create, validate — offline, with the
 * same key formats the broker reads (lib/auth/keys.ts).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadPrivateKey, loadPublicKey, loadSecretKey } from '../../auth/keys.ts';
import { createToken, parseDuration, validateToken } from '../../auth/tokens.ts';
import { CliError } from './client.ts';
import { globalOptions } from './context.ts';
import { print, stdoutOutput } from './output.ts';

function keySpec(value: string): string {
  return /^(data:|base64:|file:)/.test(value) || value.includes('-----BEGIN') ? value : `file:${value}`;
}

export function tokenCommand(program: Command): void {
  const t = program.command('token').description('Create and validate JWT tokens (offline)');
  t.command('create-secret-key')
    .description('Write a new random HS256 secret (32 bytes)')
    .requiredOption('-o, --output <file>', 'file to write (raw bytes)')
    .action((o) => {
      writeFileSync(o.output, randomBytes(32), { mode: 0o600 });
    });
  t.command('create-key-pair')
    .description('Write a new RS256 key pair (DER, as Pulsar does)')
    .requiredOption('--output-private-key <file>', 'private key file')
    .requiredOption('--output-public-key <file>', 'public key file')
    .action((o) => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writeFileSync(o.outputPrivateKey, privateKey.export({ format: 'der', type: 'pkcs8' }), { mode: 0o600 });
      writeFileSync(o.outputPublicKey, publicKey.export({ format: 'der', type: 'spki' }));
    });
  t.command('create')
    .description('Create a token for a role')
    .requiredOption('-s, --subject <role>', 'the role')
    .option('--secret-key <key>', 'HS256 secret: file path, file:, data:;base64, or base64:')
    .option('--private-key <key>', 'RS256 private key: file path (PEM or DER) or file:')
    .option('-e, --expiry-time <duration>', 'e.g. 30m, 12h, 7d, 1y (default: never expires)')
    .option('--claim <name>', 'claim holding the role', 'sub')
    .action(async (o) => {
      if (Boolean(o.secretKey) === Boolean(o.privateKey))
        throw new CliError('give exactly one of --secret-key, --private-key');
      const key = o.secretKey ? loadSecretKey(keySpec(o.secretKey)) : loadPrivateKey(keySpec(o.privateKey));
      const expiresInSeconds = o.expiryTime ? parseDuration(o.expiryTime) : undefined;
      process.stdout.write(
        `${await createToken({ subject: o.subject, key, expiresInSeconds, claim: o.claim })}\n`,
      );
    });
  t.command('validate <token>')
    .description('Check a token and show its role and expiry')
    .option('--secret-key <key>', 'HS256 secret')
    .option('--public-key <key>', 'RS256 public key')
    .option('--claim <name>', 'claim holding the role', 'sub')
    .action(async (token, o, cmd) => {
      if (Boolean(o.secretKey) === Boolean(o.publicKey))
        throw new CliError('give exactly one of --secret-key, --public-key');
      const key = o.secretKey ? loadSecretKey(keySpec(o.secretKey)) : loadPublicKey(keySpec(o.publicKey));
      const v = await validateToken(token, { key, claim: o.claim });
      const expires = v.expiresAtMs === undefined ? 'never' : new Date(v.expiresAtMs).toISOString();
      print(stdoutOutput(Boolean(globalOptions(cmd).json)), { role: v.role, expires });
    });
}
