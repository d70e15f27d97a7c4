/**
 * Loading token keys the way Pulsar's settings name them: a value is `data:;base64,<b64>`,
 * `file:///path` or `file:/path`, `base64:<b64>`, or (for public/private keys) inline PEM. A file
 * holds raw bytes (secret), DER, or PEM. Pulsar's `tokens create-secret-key` writes raw bytes and
 * `create-key-pair` writes DER, so their files work unchanged.
 */
import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { authErrors } from './errors.ts';

export const MAX_KEY_BYTES = 64 * 1024;

/** The bytes a key setting designates. */
export function readKeyBytes(what: string, spec: string): Buffer {
  const fail = (why: string) => authErrors.make('BAD_KEY', { what, why });
  let bytes: Buffer;
  if (spec.startsWith('data:')) {
    const comma = spec.indexOf(',');
    if (comma < 0 || !spec.slice(0, comma).endsWith(';base64'))
      throw fail('data: URL must be data:;base64,<data>');
    bytes = Buffer.from(spec.slice(comma + 1), 'base64');
  } else if (spec.startsWith('base64:')) {
    bytes = Buffer.from(spec.slice(7), 'base64');
  } else if (spec.startsWith('file:')) {
    const path = spec.startsWith('file://') ? fileURLToPath(spec) : spec.slice(5);
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw fail(`cannot read ${path}: ${(e as Error).message}`);
    }
  } else if (spec.includes('-----BEGIN')) {
    bytes = Buffer.from(spec, 'utf8');
  } else {
    throw fail('expected data:;base64,..., base64:..., file:... or PEM text');
  }
  if (bytes.length === 0) throw fail('key is empty');
  if (bytes.length > MAX_KEY_BYTES) throw fail(`key is larger than ${MAX_KEY_BYTES} bytes`);
  return bytes;
}

const isPem = (b: Buffer) => b.subarray(0, 64).toString('latin1').includes('-----BEGIN');

export function loadSecretKey(spec: string): KeyObject {
  const bytes = readKeyBytes('token secret key', spec);
  if (bytes.length < 32) {
    throw authErrors.make('BAD_KEY', { what: 'token secret key', why: 'HS256 needs at least 32 bytes' });
  }
  return createSecretKey(bytes);
}

export function loadPublicKey(spec: string): KeyObject {
  const bytes = readKeyBytes('token public key', spec);
  try {
    return isPem(bytes)
      ? createPublicKey(bytes)
      : createPublicKey({ key: bytes, format: 'der', type: 'spki' });
  } catch (e) {
    throw authErrors.make('BAD_KEY', { what: 'token public key', why: (e as Error).message });
  }
}

export function loadPrivateKey(spec: string): KeyObject {
  const bytes = readKeyBytes('token private key', spec);
  try {
    return isPem(bytes)
      ? createPrivateKey(bytes)
      : createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw authErrors.make('BAD_KEY', { what: 'token private key', why: (e as Error).message });
  }
}
