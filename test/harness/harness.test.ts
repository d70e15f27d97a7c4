import { readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePorts, spawnProcess, startLocalEtcd, stopAll, uniquePrefix } from './index.ts';

describe('test harness', () => {
  afterAll(stopAll);

  it('provides a real etcd to every test file', async () => {
    const client = new Etcd3({ hosts: inject('etcdEndpoint') });
    const key = `${uniquePrefix()}/k`;
    await client.put(key).value('v');
    expect(await client.get(key).string()).toBe('v');
    await client.delete().key(key);
    client.close();
  });

  it('hands out distinct free ports', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
  });

  it('starts, watches and SIGKILLs a process', async () => {
    const p = spawnProcess({
      name: 'sleeper',
      args: ['-e', 'console.log("ready"); setInterval(() => {}, 1000)'],
    });
    await p.waitForOutput(/ready/);
    await p.kill('SIGKILL');
    const { signal } = await p.exited;
    expect(signal).toBe('SIGKILL');
  });

  it('has read all of the output, in memory and in the log file, once exited resolves', async () => {
    const p = spawnProcess({
      name: 'chatty',
      args: [
        '-e',
        'for (let i = 0; i < 20000; i++) console.log(`line ${i} ${"x".repeat(60)}`); console.error("last words"); process.exitCode = 3',
      ],
    });
    const { code } = await p.exited;
    expect(code).toBe(3);
    for (const text of [p.logs(), readFileSync(p.logPath, 'utf8')]) {
      expect(text).toContain('line 19999 ');
      expect(text).toContain('last words');
      expect(text.split('\n').filter((l) => l.startsWith('line ')).length).toBe(20000);
    }
  });

  it('starts and stops a private etcd', async () => {
    const etcd = await startLocalEtcd();
    const client = new Etcd3({ hosts: etcd.endpoint });
    await client.put('a').value('b');
    expect(await client.get('a').string()).toBe('b');
    client.close();
    await etcd.stop();
  });
});
