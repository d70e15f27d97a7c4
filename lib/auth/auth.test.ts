import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../../test/harness/index.ts';
import { AuthenticationService } from './authenticate.ts';
import { defaultAuthConfig } from './config.ts';
import { loadPrivateKey, loadSecretKey } from './keys.ts';
import { createToken, parseDuration, validateToken } from './tokens.ts';

afterAll(() => removeTempDirs());

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

const secret = randomBytes(32);
const secretSpec = `data:;base64,${secret.toString('base64')}`;

describe('tokens', () => {
  it('creates and validates HS256 tokens with sub, expiry and audience', async () => {
    const key = loadSecretKey(secretSpec);
    const now = 1_700_000_000_000;
    const token = await createToken({
      subject: 'alice',
      key,
      expiresInSeconds: 60,
      audience: 'magnetar',
      nowMs: now,
    });
    const v = await validateToken(token, { key, audience: 'magnetar', nowMs: now + 1000 });
    expect(v.role).toBe('alice');
    expect(v.expiresAtMs).toBe(now + 60_000);
    expect(await codeOf(validateToken(token, { key, nowMs: now + 61_000 }))).toBe('TOKEN_EXPIRED');
    expect(await codeOf(validateToken(token, { key, audience: 'other', nowMs: now }))).toBe('INVALID_TOKEN');
    const other = createSecretKey(randomBytes(32));
    expect(await codeOf(validateToken(token, { key: other, nowMs: now }))).toBe('INVALID_TOKEN');
    expect(await codeOf(validateToken('not.a.jwt', { key }))).toBe('INVALID_TOKEN');
    expect(await codeOf(validateToken(`${token}x`, { key, nowMs: now }))).toBe('INVALID_TOKEN');
  });

  it('reads the role from a configured claim', async () => {
    const key = loadSecretKey(secretSpec);
    const token = await createToken({ subject: 'bob', key, claim: 'role' });
    expect((await validateToken(token, { key, claim: 'role' })).role).toBe('bob');
    expect(await codeOf(validateToken(token, { key }))).toBe('INVALID_TOKEN');
  });

  it('validates RS256 with a public key file (PEM or DER) and refuses algorithm confusion', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const dir = tempDir('auth-');
    const pubDer = join(dir, 'pub.der');
    const privPem = join(dir, 'priv.pem');
    writeFileSync(pubDer, publicKey.export({ format: 'der', type: 'spki' }));
    writeFileSync(privPem, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const token = await createToken({ subject: 'carol', key: loadPrivateKey(`file:${privPem}`) });
    const svc = new AuthenticationService(
      defaultAuthConfig({ authenticationEnabled: true, tokenPublicKey: `file://${pubDer}` }),
    );
    expect((await svc.authenticateToken(token)).role).toBe('carol');
    // An HS256 token "signed" with the public key bytes must not pass an RS256 verifier.
    const pem = publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('admin')
      .sign(createSecretKey(Buffer.from(pem)));
    expect(await codeOf(svc.authenticateToken(forged))).toBe('INVALID_TOKEN');
  });

  it('parses durations like pulsar tokens --expiry-time', () => {
    expect(parseDuration('30')).toBe(30);
    expect(parseDuration('10m')).toBe(600);
    expect(parseDuration('1y')).toBe(31_536_000);
    expect(() => parseDuration('soon')).toThrow();
  });

  it('refuses short secrets and bad key specs', () => {
    expect(() => loadSecretKey('base64:AAAA')).toThrow(/at least 32 bytes/);
    expect(() => loadSecretKey('plain-text')).toThrow(/expected/);
    expect(() => loadSecretKey('file:/does/not/exist')).toThrow(/cannot read/);
  });
});

describe('AuthenticationService', () => {
  const on = new AuthenticationService(
    defaultAuthConfig({ authenticationEnabled: true, tokenSecretKey: secretSpec }),
  );
  const off = new AuthenticationService(defaultAuthConfig());
  const key = loadSecretKey(secretSpec);

  it('binary protocol: token method and auth_data give the role', async () => {
    const token = await createToken({ subject: 'app', key });
    expect((await on.authenticate('token', new TextEncoder().encode(token))).role).toBe('app');
    expect((await on.authenticate('token', `token:${token}`)).role).toBe('app');
    expect(await codeOf(on.authenticate(undefined, undefined))).toBe('AUTHENTICATION_REQUIRED');
    expect(await codeOf(on.authenticate('basic', 'x'))).toBe('UNSUPPORTED_AUTH_METHOD');
    expect(await codeOf(on.authenticate('token', ''))).toBe('INVALID_TOKEN');
    expect(await codeOf(on.authenticate('token', 'garbage'))).toBe('INVALID_TOKEN');
    expect((await off.authenticate(undefined, undefined)).role).toBe('');
    const asBroker = on.roleAuthenticator();
    expect(await asBroker('token', new TextEncoder().encode(token))).toEqual({
      role: 'app',
      expiresAtMs: undefined,
    });
    const expiring = await createToken({ subject: 'app', key, expiresInSeconds: 60 });
    const withExpiry = await asBroker('token', new TextEncoder().encode(expiring));
    expect(withExpiry.role).toBe('app');
    expect(withExpiry.expiresAtMs).toBeGreaterThan(Date.now());
    expect(withExpiry.expiresAtMs).toBeLessThanOrEqual(Date.now() + 61_000);
    await expect(asBroker('', new Uint8Array())).rejects.toMatchObject({
      code: 'AUTHENTICATION_REQUIRED',
      spec: { wire: 3 },
    });
  });

  it('HTTP: Bearer header; anonymous refused when authentication is on', async () => {
    const token = await createToken({ subject: 'ops', key });
    expect((await on.authenticateHttp(`Bearer ${token}`)).role).toBe('ops');
    expect(await codeOf(on.authenticateHttp(undefined))).toBe('AUTHENTICATION_REQUIRED');
    expect(await codeOf(on.authenticateHttp(`Basic ${token}`))).toBe('UNSUPPORTED_AUTH_METHOD');
    expect(await codeOf(on.authenticateHttp('Bearer nope'))).toBe('INVALID_TOKEN');
    expect((await off.authenticateHttp(undefined)).role).toBe('');
  });

  it('refuses to start with authentication on and no key', () => {
    expect(() => new AuthenticationService(defaultAuthConfig({ authenticationEnabled: true }))).toThrow(
      /no token key/,
    );
  });
});
