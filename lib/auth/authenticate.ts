/**
 * Authentication for the admin API (`Authorization: Bearer <jwt>`) and the binary protocol
 * (CONNECT with auth_method_name "token" and the token as auth_data). Both return the role, or
 * throw an authErrors code (HTTP 401 / ServerError AuthenticationError).
 */
import type { KeyObject } from 'node:crypto';
import type { AuthConfig } from './config.ts';
import { authErrors } from './errors.ts';
import { loadPublicKey, loadSecretKey } from './keys.ts';
import { type ValidatedToken, validateToken } from './tokens.ts';

export const TOKEN_AUTH_METHOD = 'token';

export interface AuthenticatedRole {
  readonly role: string;
  /** Token expiry (ms); the broker re-checks connections past it. */
  readonly expiresAtMs?: number;
}

export class AuthenticationService {
  readonly enabled: boolean;
  private readonly config: AuthConfig;
  private readonly key: KeyObject | undefined;
  private readonly nowMs: () => number;

  constructor(config: AuthConfig, opts: { nowMs?: () => number } = {}) {
    this.config = config;
    this.enabled = config.authenticationEnabled;
    this.nowMs = opts.nowMs ?? Date.now;
    if (config.tokenSecretKey && config.tokenPublicKey) {
      throw authErrors.make('BAD_KEY', {
        what: 'token key',
        why: 'set tokenSecretKey or tokenPublicKey, not both',
      });
    }
    if (config.tokenSecretKey) this.key = loadSecretKey(config.tokenSecretKey);
    else if (config.tokenPublicKey) this.key = loadPublicKey(config.tokenPublicKey);
    if (this.enabled && !this.key) {
      throw authErrors.make('BAD_KEY', {
        what: 'token key',
        why: 'authentication is on but no token key is set',
      });
    }
  }

  /** Validate a raw token; returns its role. */
  async authenticateToken(token: string): Promise<AuthenticatedRole> {
    if (!this.key)
      throw authErrors.make('UNSUPPORTED_AUTH_METHOD', { method: TOKEN_AUTH_METHOD, accepted: 'none' });
    const v: ValidatedToken = await validateToken(token.trim(), {
      key: this.key,
      claim: this.config.tokenAuthClaim,
      audienceClaim: this.config.tokenAudienceClaim,
      audience: this.config.tokenAudience || undefined,
      clockSkewSeconds: this.config.tokenClockSkewSeconds,
      maxTokenBytes: this.config.maxTokenBytes,
      nowMs: this.nowMs(),
    });
    return { role: v.role, expiresAtMs: v.expiresAtMs };
  }

  private anonymous(): AuthenticatedRole | undefined {
    if (!this.enabled) return { role: this.config.anonymousUserRole };
    if (this.config.anonymousUserRole) return { role: this.config.anonymousUserRole };
    return undefined;
  }

  /**
   * Binary protocol: CONNECT's auth_method_name and auth_data. Returns the role ('' when
   * authentication is off and no credentials were given).
   */
  async authenticate(
    authMethod: string | undefined,
    authData: Uint8Array | string | undefined,
  ): Promise<AuthenticatedRole> {
    const hasData = authData !== undefined && authData.length > 0;
    if (!authMethod && !hasData) {
      const anon = this.anonymous();
      if (anon) return anon;
      throw authErrors.make('AUTHENTICATION_REQUIRED');
    }
    if (authMethod !== TOKEN_AUTH_METHOD) {
      if (!this.enabled) return { role: '' };
      throw authErrors.make('UNSUPPORTED_AUTH_METHOD', {
        method: authMethod ?? '',
        accepted: TOKEN_AUTH_METHOD,
      });
    }
    if (!hasData) throw authErrors.make('INVALID_TOKEN', { why: 'no token in auth_data' });
    const token = typeof authData === 'string' ? authData : new TextDecoder().decode(authData);
    // Pulsar clients may send "token:<jwt>"; strip the scheme like Pulsar's AuthenticationDataCommand.
    const raw = token.startsWith('token:') ? token.slice(6) : token;
    if (!this.enabled) return { role: '' };
    return this.authenticateToken(raw);
  }

  /**
   * The broker connection's `Authenticator` shape: CONNECT's (auth_method_name, auth_data) → role
   * and token expiry (the connection is re-checked past it). Throws an authErrors code whose
   * `spec.wire` is ServerError AuthenticationError (3).
   */
  roleAuthenticator(): (method: string, data: Uint8Array) => Promise<AuthenticatedRole> {
    return (method, data) => this.authenticate(method, data);
  }

  /** Admin API: the Authorization header value. */
  async authenticateHttp(authorization: string | undefined): Promise<AuthenticatedRole> {
    if (!this.enabled) return { role: '' };
    if (authorization === undefined || authorization.trim() === '') {
      const anon = this.anonymous();
      if (anon) return anon;
      throw authErrors.make('AUTHENTICATION_REQUIRED');
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m)
      throw authErrors.make('UNSUPPORTED_AUTH_METHOD', {
        method: authorization.split(/\s/)[0],
        accepted: 'Bearer',
      });
    return this.authenticateToken(m[1]);
  }
}
