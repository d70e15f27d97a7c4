import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where a test run keeps its temporary directories. The global set-up makes one root per run
 * and removes it at the end, so directories survive nothing, not even a test worker that is
 * killed before its own clean-up runs (vitest ends forks without an 'exit' event).
 */
export const TEST_TMP_ROOT_ENV = 'MAGNETAR_TEST_TMP_ROOT';

const made: string[] = [];
let hooked = false;

/** A fresh temporary directory, removed after the test file (see `cleanup-setup.ts`) or at process exit. */
export function tempDir(prefix = 'magnetar-'): string {
  const dir = mkdtempSync(join(process.env[TEST_TMP_ROOT_ENV] ?? tmpdir(), prefix));
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', removeTempDirs);
  }
  return dir;
}

export function removeTempDirs(): void {
  while (made.length) rmSync(made.pop()!, { recursive: true, force: true });
}

/** The run's root for temporary directories; `remove` deletes it with everything left inside. */
export function makeTestTmpRoot(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'magnetar-test-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
