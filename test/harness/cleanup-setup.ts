/**
 * Runs in every test file (vitest `setupFiles`). Its afterAll is registered first, so it runs
 * after the file's own hooks have stopped their processes; the file's temporary directories go
 * then instead of piling up until the run ends.
 */
import { afterAll } from 'vitest';
import { removeTempDirs } from './tmp.ts';

afterAll(() => {
  removeTempDirs();
});
