/**
 * JWT tokens as Pulsar's token authentication uses them: HS256 with a shared secret or RS256 with
 * a key pair; the role is the `sub` claim (or a configured claim); `exp` makes a token expire.
 * Tokens carry no permissions.
 */
import type { KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { authErrors } from './errors.ts';

export type TokenAlgorithm = 'HS256' | 'RS256';

export interface CreateTokenOptions {
  subject: string;
  key: KeyObject;
  /** HS256 for a secret key, RS256 for a private key (default from the key type). */
  algorithm?: TokenAlgorithm;
  /** Seconds from now; undefined = never expires. */
  expiresInSeconds?: number;
  /** Claim to hold the subject (default `sub`). */
  claim?: string;
  audience?: string;
  /** Clock for tests. */
  nowMs?: number;
  headers?: Record<string, unknown>;
}

export function algorithmFor(key: KeyObject): TokenAlgorithm {
  return key.type === 'secret' ? 'HS256' : 'RS256';
}

export async function createToken(opts: CreateTokenOptions): Promise<string> {
  const claim = opts.claim ?? 'sub';
  const payload: Record<string, unknown> = claim === 'sub' ? {} : { [claim]: opts.subject };
  const jwt = new SignJWT(payload).setProtectedHeader({ alg: opts.algorithm ?? algorithmFor(opts.key) });
  if (claim === 'sub') jwt.setSubject(opts.subject);
  if (opts.audience) jwt.setAudience(opts.audience);
  if (opts.expiresInSeconds !== undefined) {
    jwt.setExpirationTime(Math.floor((opts.nowMs ?? Date.now()) / 1000) + opts.expiresInSeconds);
  }
  return jwt.sign(opts.key);
}

export interface ValidateOptions {
  key: KeyObject;
  claim?: string;
  audienceClaim?: string;
  audience?: string;
  clockSkewSeconds?: number;
  maxTokenBytes?: number;
  /** Clock for tests (ms). */
  nowMs?: number;
}

export interface ValidatedToken {
  readonly role: string;
  /** Expiry in ms since the epoch, if the token has one. */
  readonly expiresAtMs?: number;
  readonly claims: Record<string, unknown>;
}

/** Verify signature, algorithm, expiry and audience; return the role. Throws INVALID_TOKEN / TOKEN_EXPIRED. */
export async function validateToken(token: string, opts: ValidateOptions): Promise<ValidatedToken> {
  if (token.length === 0) throw authErrors.make('INVALID_TOKEN', { why: 'empty token' });
  if (token.length > (opts.maxTokenBytes ?? 16_384))
    throw authErrors.make('INVALID_TOKEN', { why: 'token too long' });
  const claim = opts.claim ?? 'sub';
  let payload: Record<string, unknown>;
  try {
    const res = await jwtVerify(token, opts.key, {
      algorithms: [algorithmFor(opts.key)],
      clockTolerance: opts.clockSkewSeconds ?? 0,
      currentDate: opts.nowMs === undefined ? undefined : new Date(opts.nowMs),
    });
    payload = res.payload as Record<string, unknown>;
  } catch (e) {
    if (e instanceof joseErrors.JWTExpired) throw authErrors.make('TOKEN_EXPIRED');
    throw authErrors.make('INVALID_TOKEN', { why: (e as Error).message || 'invalid token' });
  }
  if (opts.audience) {
    const aud = payload[opts.audienceClaim ?? 'aud'];
    const ok = Array.isArray(aud) ? aud.includes(opts.audience) : aud === opts.audience;
    if (!ok) throw authErrors.make('INVALID_TOKEN', { why: 'audience does not match' });
  }
  const role = payload[claim];
  if (typeof role !== 'string' || role.length === 0) {
    throw authErrors.make('INVALID_TOKEN', { why: `claim "${claim}" missing or not a string` });
  }
  const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  return { role, expiresAtMs: exp, claims: payload };
}

/** Parse "30s", "10m", "12h", "7d", "1y" (Pulsar's --expiry-time) into seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhdwy]?)$/.exec(text.trim());
  if (!m)
    throw authErrors.make('BAD_KEY', {
      what: 'expiry',
      why: `"${text}" is not a duration like 30m, 12h, 7d, 1y`,
    });
  const mult: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
  return Number(m[1]) * mult[m[2]];
}
