/** magnetar-admin as a real process (bin/magnetar-admin) against an admin server on real etcd. */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../harness/index.ts';
import { type AdminHarness, startAdmin } from './helpers.ts';

const BIN = resolve(import.meta.dirname, '../../bin/magnetar-admin');
let h: AdminHarness;
let rootToken: string;

beforeAll(async () => {
  h = await startAdmin({
    auth: { authenticationEnabled: true, authorizationEnabled: true, superUserRoles: ['root'] },
  });
  rootToken = await h.token('root');
});
afterAll(async () => {
  await h?.close();
  removeTempDirs();
});

function cli(
  args: string[],
  token: string | undefined = rootToken,
): Promise<{ code: number; out: string; err: string }> {
  const env = { ...process.env, MAGNETAR_ADMIN_URL: h.url, MAGNETAR_ADMIN_TOKEN: token ?? '' };
  return new Promise((done) => {
    execFile(BIN, args, { env, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, out: stdout, err: stderr });
    });
  });
}

describe('magnetar-admin', { concurrent: false }, () => {
  it('manages clusters, tenants, namespaces with tables and --json', async () => {
    expect((await cli(['clusters', 'create', 'test-cluster', '--url', 'http://127.0.0.1:8080'])).code).toBe(
      0,
    );
    expect((await cli(['tenants', 'create', 'acme', '-r', 'ops', '-c', 'test-cluster'])).code).toBe(0);
    expect((await cli(['namespaces', 'create', 'acme/ns', '--bundles', '2'])).code).toBe(0);
    const t = await cli(['tenants', 'get', 'acme']);
    expect(t.out).toMatch(/KEY\s+VALUE/);
    expect(t.out).toMatch(/adminRoles\s+\["ops"\]/);
    const j = await cli(['--json', 'namespaces', 'bundles', 'acme/ns']);
    expect(JSON.parse(j.out)).toEqual({
      boundaries: ['0x00000000', '0x80000000', '0xffffffff'],
      numBundles: 2,
    });
    expect((await cli(['namespaces', 'list', 'acme'])).out.trim()).toBe('acme/ns');
  });

  it('sets, reads and removes policies and permissions', async () => {
    expect((await cli(['policies', 'set', 'acme/ns', 'messageTTL', '120'])).code).toBe(0);
    expect((await cli(['policies', 'get', 'acme/ns', 'messageTTL'])).out.trim()).toBe('120');
    expect(
      (
        await cli([
          'policies',
          'set',
          'acme/ns',
          'retention',
          '{"retentionTimeInMinutes":60,"retentionSizeInMB":10}',
        ])
      ).code,
    ).toBe(0);
    expect(
      (
        await cli([
          'policies',
          'set',
          'acme/ns',
          'backlogQuota',
          '{"limitSize":1024,"policy":"producer_exception"}',
          '-t',
          'destination_storage',
        ])
      ).code,
    ).toBe(0);
    const map = JSON.parse((await cli(['--json', 'policies', 'get', 'acme/ns', 'backlogQuotaMap'])).out);
    expect(map.destination_storage.policy).toBe('producer_exception');
    expect((await cli(['policies', 'remove', 'acme/ns', 'messageTTL'])).code).toBe(0);
    expect((await cli(['policies', 'get', 'acme/ns', 'messageTTL'])).out.trim()).toBe('(not set)');
    expect((await cli(['permissions', 'grant', 'acme/ns', 'app', '-a', 'produce,consume'])).code).toBe(0);
    expect((await cli(['permissions', 'list', 'acme/ns'])).out).toMatch(/app\s+\["produce","consume"\]/);
    expect((await cli(['permissions', 'grant', 'persistent://acme/ns/t1', 'w', '-a', 'produce'])).code).toBe(
      0,
    );
    expect((await cli(['permissions', 'revoke', 'acme/ns', 'app'])).code).toBe(0);
  });

  it('manages partitioned topics', async () => {
    expect((await cli(['topics', 'create-partitioned', 'persistent://acme/ns/orders', '-p', '3'])).code).toBe(
      0,
    );
    expect((await cli(['--json', 'topics', 'partitions', 'acme/ns/orders'])).out).toContain(
      '"partitions": 3',
    );
    expect((await cli(['topics', 'update-partitioned', 'acme/ns/orders', '-p', '4'])).code).toBe(0);
    expect((await cli(['topics', 'list', 'acme/ns'])).out.trim().split('\n')).toHaveLength(4);
    expect((await cli(['policies', 'get', 'acme/ns/orders', 'messageTTL', '--applied'])).out.trim()).toBe(
      '0',
    );
    expect((await cli(['topics', 'delete-partitioned', 'acme/ns/orders'])).code).toBe(0);
  });

  it('reports server errors with their reason and exit code 1; usage errors exit 2', async () => {
    const dup = await cli(['tenants', 'create', 'acme', '-c', 'test-cluster']);
    expect(dup.code).toBe(1);
    expect(dup.err).toBe('error: Tenant acme already exists (HTTP 409)\n');
    const denied = await cli(['tenants', 'list'], await h.token('ops'));
    expect(denied.code).toBe(1);
    expect(denied.err).toContain('HTTP 403');
    expect((await cli(['tenants', 'list'], '')).err).toContain('HTTP 401');
    expect((await cli(['tenants', 'create'])).code).toBe(2);
    expect((await cli(['nonsense'])).code).toBe(2);
    expect((await cli(['topics', 'create-partitioned', 'a/b/c', '-p', 'many'])).err).toContain(
      'must be an integer',
    );
    const help = await cli(['namespaces', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: magnetar-admin namespaces create');
  });

  it('creates and validates tokens that the server accepts', async () => {
    const dir = tempDir('cli-');
    const keyFile = join(dir, 'secret.key');
    writeFileSync(keyFile, Buffer.from(h.secret.slice('data:;base64,'.length), 'base64'));
    const made = await cli(['token', 'create', '--secret-key', keyFile, '-s', 'root', '-e', '1h']);
    expect(made.code).toBe(0);
    const token = made.out.trim();
    const v = await cli(['--json', 'token', 'validate', token, '--secret-key', keyFile]);
    expect(JSON.parse(v.out).role).toBe('root');
    expect((await cli(['clusters', 'list'], token)).out.trim()).toBe('test-cluster');
    const other = join(dir, 'other.key');
    expect((await cli(['token', 'create-secret-key', '-o', other])).code).toBe(0);
    expect((await cli(['token', 'validate', token, '--secret-key', other])).code).toBe(1);
    const priv = join(dir, 'k.priv');
    const pub = join(dir, 'k.pub');
    expect(
      (await cli(['token', 'create-key-pair', '--output-private-key', priv, '--output-public-key', pub]))
        .code,
    ).toBe(0);
    const rs = (await cli(['token', 'create', '--private-key', priv, '-s', 'svc'])).out.trim();
    expect(JSON.parse((await cli(['--json', 'token', 'validate', rs, '--public-key', pub])).out)).toEqual({
      role: 'svc',
      expires: 'never',
    });
  });
});
