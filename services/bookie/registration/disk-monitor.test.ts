import { describe, expect, it } from 'vitest';
import { DiskMonitor, type DiskStats, nextReadOnly, statfsProbe } from './disk-monitor.ts';

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
});
