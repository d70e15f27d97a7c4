import { describe, expect, it } from 'vitest';
import { loadBookieConfig } from './config.ts';

describe('bookie configuration', () => {
  it('reads flags and environment, with flags winning', () => {
    const cfg = loadBookieConfig({
      argv: ['--grpc-port', '0', '--journal-group-wait-ms=5'],
      env: { MAGNETAR_BOOKIE_GRPC_PORT: '4000', MAGNETAR_BOOKIE_BOOKIE_ID: 'b-1' },
    });
    expect(cfg.grpcPort).toBe(0);
    expect(cfg.journalGroupWaitMs).toBe(5);
    expect(cfg.bookieId).toBe('b-1');
    expect(cfg.journalGroupMaxBytes).toBe(512 * 1024);
  });

  it('rejects out-of-bound values and inconsistent combinations with coded errors', () => {
    expect(() => loadBookieConfig({ argv: ['--grpc-port', '70000'] })).toThrow(/above the maximum/);
    expect(() => loadBookieConfig({ argv: ['--no-such-setting', '1'] })).toThrow(/unknown bookie setting/);
    const bad: [string[], RegExp][] = [
      [['--disk-usage-lwm-threshold', '0.99'], /diskUsageLwmThreshold/],
      [['--journal-file-bytes', String(2 * 1024 * 1024)], /journalFileBytes/],
      [['--entry-log-max-bytes', String(64 * 1024)], /entryLogMaxBytes/],
      [['--gc-minor-threshold', '0.9'], /gcMinorThreshold/],
      [['--bookie-id', 'has/slash'], /bookieId/],
    ];
    for (const [argv, why] of bad) {
      expect(() => loadBookieConfig({ argv }), argv.join(' ')).toThrow(/BOOKIE_CONFIG_INVALID/);
      expect(() => loadBookieConfig({ argv })).toThrow(why);
    }
  });
});
