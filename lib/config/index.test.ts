import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/harness/tmp.ts';
import { ConfigError, describeConfig, loadConfig } from './index.ts';

const spec = {
  port: { type: 'int', default: 3181, min: 1, max: 65535, doc: 'gRPC port' },
  dataDir: { type: 'string', default: './data', doc: 'where data lives' },
  syncData: { type: 'bool', default: true, doc: 'fsync' },
  labels: { type: 'list', default: [], doc: 'labels' },
  mode: { type: 'string', default: 'a', choices: ['a', 'b'], doc: 'mode' },
} as const;

describe('loadConfig', () => {
  it('layers defaults < file < env < flags', () => {
    const dir = tempDir('cfg-');
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'port: 4000\ndataDir: /x\n');
    const cfg = loadConfig('bookie', spec, {
      argv: ['--config', file, '--sync-data=false', '--labels', 'rack=a,zone=b'],
      env: { MAGNETAR_BOOKIE_DATA_DIR: '/env', MAGNETAR_BOOKIE_PORT: '5000' },
    });
    expect(cfg).toEqual({
      port: 5000,
      dataDir: '/env',
      syncData: false,
      labels: ['rack=a', 'zone=b'],
      mode: 'a',
    });
  });

  it('rejects out-of-bounds, malformed and unknown settings with the setting named', () => {
    expect(() => loadConfig('bookie', spec, { argv: ['--port', '0'] })).toThrow(/port .*minimum/);
    expect(() => loadConfig('bookie', spec, { argv: ['--port', 'x'] })).toThrow(ConfigError);
    expect(() => loadConfig('bookie', spec, { argv: ['--nope', '1'] })).toThrow(
      /unknown bookie setting "nope"/,
    );
    expect(() => loadConfig('bookie', spec, { argv: ['--mode', 'c'] })).toThrow(/not one of/);
  });

  it('documents every setting', () => {
    const doc = describeConfig('bookie', spec);
    expect(doc).toContain('`--data-dir`');
    expect(doc).toContain('MAGNETAR_BOOKIE_SYNC_DATA');
  });
});
