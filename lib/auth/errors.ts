/**
 * Error registry of authentication and authorization. `wire` is Pulsar's ServerError
 * (AuthenticationError = 3, AuthorizationError = 4), `http` the admin API status.
 */
import { defineErrors } from '../errors/index.ts';

export const authErrors = defineErrors({
  AUTHENTICATION_REQUIRED: {
    message: 'Authentication required',
    retry: 'bad-request',
    http: 401,
    wire: 3,
  },
  UNSUPPORTED_AUTH_METHOD: {
    message: 'Unsupported authentication method "{method}"; this broker accepts: {accepted}',
    retry: 'bad-request',
    http: 401,
    wire: 3,
  },
  INVALID_TOKEN: {
    message: 'Failed to authenticate: {why}',
    retry: 'bad-request',
    http: 401,
    wire: 3,
  },
  TOKEN_EXPIRED: {
    message: 'Failed to authenticate: token expired',
    retry: 'bad-request',
    http: 401,
    wire: 3,
  },
  NOT_AUTHORIZED: {
    message: 'Role {role} is not authorized to {operation} {resource}',
    retry: 'bad-request',
    http: 403,
    wire: 4,
  },
  SUPERUSER_REQUIRED: {
    message: 'Role {role} is not a super-user: {operation} requires super-user access',
    retry: 'bad-request',
    http: 403,
    wire: 4,
  },
  BAD_KEY: {
    message: 'Cannot load {what}: {why}',
    retry: 'fatal',
  },
});

export type AuthErrorCode = keyof typeof authErrors.specs;
