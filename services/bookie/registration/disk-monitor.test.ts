import { describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../../../test/harness/tmp.ts';
import { DiskMonitor, type DiskStats, fileProbe, nextReadOnly, statfsProbe } from './disk-monitor.ts';

describe('read-only by disk usage', () => {
  const t = { high: 0.95, low: 0.9 };
  it('switches with hysteresis (pure)', () => {
    expect(nextReadOnly(false, 0.94, t)).toBe(false);
    expect(nextReadOnly(false, 0.96, t)).toBe(true);
    expect(nextReadOnly(true, 0.92, t)).toBe(true);
    expect(nextReadOnly(true, 0.89, t)).toBe(false);
  });

  it('drives state changes from an injected probe and survives probe failures', async () => {
    let usage = 0.5;
    let failing = false;
    const changes: boolean[] = [];
    const errors: unknown[] = [];
    const probe = async (): Promise<DiskStats> => {
      if (failing) throw new Error('statfs failed');
      return { totalBytes: 100, freeBytes: 100 * (1 - usage), usage };
    };
    const m = new DiskMonitor(
      probe,
      t,
      (ro) => changes.push(ro),
      (e) => errors.push(e),
    );
    expect(await m.check()).toBe(false);
    usage = 0.99;
    expect(await m.check()).toBe(true);
    failing = true;
    expect(await m.check()).toBe(true);
    failing = false;
    usage = 0.1;
    expect(await m.check()).toBe(false);
    expect(changes).toEqual([true, false]);
    expect(errors).toHaveLength(1);
  });

  it('reads real figures with statfs', async () => {
    const s = await statfsProbe(['/tmp'])();
    expect(s.totalBytes).toBeGreaterThan(0);
    expect(s.usage).toBeGreaterThanOrEqual(0);
    expect(s.usage).toBeLessThanOrEqual(1);
  });

  it('reads the usage from a probe file and keeps the last valid value while it is rewritten', async () => {
    const path = join(tempDir('probe-'), 'usage');
    const probe = fileProbe(path, async () => ({ totalBytes: 10, freeBytes: 5, usage: 0.5 }));
    expect((await probe()).usage).toBe(0.5); // no file yet: the real figure
    await writeFile(path, '0.97');
    expect(await probe()).toEqual({ totalBytes: 10, freeBytes: 5, usage: 0.97 });
    await writeFile(path, '');
    expect((await probe()).usage).toBe(0.97);
    await writeFile(path, 'garbage');
    expect((await probe()).usage).toBe(0.97);
    await writeFile(path, '0.2');
    expect((await probe()).usage).toBe(0.2);
  });
});
