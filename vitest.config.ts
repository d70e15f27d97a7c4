import { defineConfig } from 'vitest/config';

// Two cores: integration tests start real processes (etcd, bookies, brokers), so at most two
// test files run at once. Unit tests are fast enough that this costs little.
export default defineConfig({
  test: {
    include: ['lib/**/*.test.ts', 'services/**/*.test.ts', 'test/**/*.test.ts', 'bin/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    globalSetup: ['test/harness/global-setup.ts'],
    setupFiles: ['test/harness/cleanup-setup.ts'],
  },
});
