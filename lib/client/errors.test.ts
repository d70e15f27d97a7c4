import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ServerError } from '../wire/protocol.ts';
import { clientErrors, fromServerError, isRetryable } from './errors.ts';

describe('client error registry', () => {
  it('is documented in README.md, code by code', () => {
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    for (const [code, spec] of Object.entries(clientErrors.specs)) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
      expect(row, code).toBeDefined();
      const cells = row!.split('|').map((c) => c.trim());
      expect(cells[2], code).toBe(spec.retry);
      expect(cells[3], code).toBe(spec.wire === undefined ? '' : String(spec.wire));
    }
  });

  it('maps every broker ServerError to a coded error that keeps the broker message', () => {
    for (const value of Object.values(ServerError) as number[]) {
      const err = fromServerError(value, 'why');
      expect(err.code).toMatch(/^[A-Z_]+$/);
      expect(err.message).toContain('why');
    }
    expect(fromServerError(ServerError.ServiceNotReady, 'x').code).toBe('SERVICE_NOT_READY');
    expect(isRetryable(fromServerError(ServerError.ServiceNotReady, 'x'))).toBe(true);
    expect(isRetryable(fromServerError(ServerError.AuthenticationError, 'x'))).toBe(false);
    expect(fromServerError(ServerError.InvalidTopicName, 'x').code).toBe('BROKER_INVALID_TOPIC_NAME');
    expect(fromServerError(999, 'x').code).toBe('BROKER_OTHER_ERROR');
  });
});
