/**
 * Security settings (Pulsar broker.conf names). Spread `authConfigSpec` into a service's config
 * spec. With `authenticationEnabled` false every caller is anonymous and, as in Pulsar, nothing is
 * checked; with it on, a request without valid credentials is refused (no anonymous access).
 */
import type { ConfigOf, ConfigSpec } from '../config/index.ts';

export const authConfigSpec = {
  authenticationEnabled: {
    type: 'bool',
    default: false,
    doc: 'Require a JWT on the admin API and on CONNECT',
  },
  authorizationEnabled: {
    type: 'bool',
    default: false,
    doc: 'Check roles against superusers, tenant admins and grants (needs authentication)',
  },
  superUserRoles: { type: 'list', default: [], doc: 'Roles allowed everything (comma separated)' },
  tokenSecretKey: {
    type: 'string',
    default: '',
    doc: 'HS256 secret: data:;base64,<b64> | base64:<b64> | file:<path> (raw bytes, >= 32)',
  },
  tokenPublicKey: {
    type: 'string',
    default: '',
    doc: 'RS256 public key: file:<path> (PEM or DER) | data:;base64,<DER b64> | PEM text',
  },
  tokenAuthClaim: { type: 'string', default: 'sub', doc: 'JWT claim holding the role' },
  tokenAudienceClaim: { type: 'string', default: 'aud', doc: 'JWT claim holding the audience' },
  tokenAudience: { type: 'string', default: '', doc: 'Required audience (empty = not checked)' },
  tokenClockSkewSeconds: {
    type: 'int',
    default: 0,
    min: 0,
    max: 3600,
    doc: 'Tolerated clock skew for exp/nbf',
  },
  maxTokenBytes: { type: 'int', default: 16_384, min: 256, max: 1_048_576, doc: 'Longest accepted token' },
  anonymousUserRole: {
    type: 'string',
    default: '',
    doc: 'Role given to callers without credentials while authentication is on (empty = refuse them)',
  },
} as const satisfies ConfigSpec;

export type AuthConfig = ConfigOf<typeof authConfigSpec>;

export function defaultAuthConfig(overrides: Partial<AuthConfig> = {}): AuthConfig {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(authConfigSpec))
    out[k] = Array.isArray(s.default) ? [...s.default] : s.default;
  return { ...(out as AuthConfig), ...overrides };
}
