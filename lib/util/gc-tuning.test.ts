import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/index.ts';
import { DEFAULT_HEAP_GROWING_PERCENT, HEAP_GROWING_PERCENT_ENV, heapGrowingPercent } from './gc-tuning.ts';

describe('heapGrowingPercent', () => {
  it('defaults when unset or empty, and reads integers in bounds (0 = V8 decides)', () => {
    expect(heapGrowingPercent({})).toBe(DEFAULT_HEAP_GROWING_PERCENT);
    expect(heapGrowingPercent({ [HEAP_GROWING_PERCENT_ENV]: '' })).toBe(DEFAULT_HEAP_GROWING_PERCENT);
    expect(heapGrowingPercent({ [HEAP_GROWING_PERCENT_ENV]: '0' })).toBe(0);
    expect(heapGrowingPercent({ [HEAP_GROWING_PERCENT_ENV]: '150' })).toBe(150);
  });

  it('refuses values that are not integers in 0 … 1000 with a coded config error', () => {
    for (const bad of ['-1', '1001', '2.5', 'lots']) {
      expect(() => heapGrowingPercent({ [HEAP_GROWING_PERCENT_ENV]: bad })).toThrow(ConfigError);
    }
  });
});

describe('a service entry point with a bad value', () => {
  it('exits with code 2 and says which variable is wrong, before starting', () => {
    const main = join(import.meta.dirname, '../../services/bookie/main.ts');
    const r = spawnSync(process.execPath, [main, '--describe-config'], {
      env: { ...process.env, [HEAP_GROWING_PERCENT_ENV]: 'lots' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`CONFIG_INVALID: ${HEAP_GROWING_PERCENT_ENV}`);
  });
});
