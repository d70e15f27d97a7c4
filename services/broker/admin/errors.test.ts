import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authErrors } from '../../../lib/auth/errors.ts';
import { policyErrors } from '../../../lib/policies/errors.ts';
import { adminErrors } from './errors.ts';

describe('admin error registry', () => {
  it('README lists every code the API answers, with its status', () => {
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    for (const reg of [adminErrors, policyErrors, authErrors]) {
      for (const [code, spec] of Object.entries(reg.specs)) {
        const http = (spec as { http?: number }).http;
        if (http === undefined) continue;
        expect(readme, code).toMatch(new RegExp(`\\|\\s*${http}\\s*\\|\\s*\`${code}\`\\s*\\|`));
      }
    }
  });
});
