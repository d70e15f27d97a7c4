/**
 * The embedded store across restarts: kill -9 mid-write loses no acknowledged write, sessions of a
 * dead incarnation end on reopen, versions are never reused, the LOCK keeps a second process out,
 * torn tails are cut while damage in the middle is refused, and compaction keeps everything.
 */
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log/index.ts';
import { openEmbeddedStore } from '../../lib/metadata/embedded-store.ts';
import type { WatchEvent } from '../../lib/metadata/store.ts';
import { spawnProcess, stopAll, tempDir } from '../harness/index.ts';
import { bytes, expectCode, text } from './helpers.ts';

const fixture = new URL('./fixtures/embedded-writer.ts', import.meta.url).pathname;
const open = (dir: string, limits = {}) => openEmbeddedStore({ dir, limits, logger: silentLogger() });

describe('embedded store durability', { concurrent: false }, () => {
  afterAll(stopAll);

  it('keeps every acknowledged write through kill -9 and ends the dead process sessions', async () => {
    const dir = tempDir('md-kill-');
    const child = spawnProcess({ name: 'embedded-writer', args: [fixture, dir] });
    const acked: [number, number][] = [];
    child.child.stdout!.on('data', (d: Buffer) => {
      for (const m of d.toString().matchAll(/^acked (\d+) (\d+)$/gm))
        acked.push([Number(m[1]), Number(m[2])]);
    });
    await child.waitForOutput(/^acked 40 /, 45_000);
    await child.kill('SIGKILL');
    const store = await open(dir);
    for (const [i, version] of acked) {
      const e = await store.get(`/k/${i}`);
      expect(text(e?.value), `acked write ${i}`).toBe(String(i));
      expect(e!.version).toBe(version);
    }
    expect(await store.get('/eph')).toBeUndefined(); // its session died with the process
    const maxSeen = Math.max(...(await store.listAll('/k/')).map((e) => e.version));
    const v = await store.put('/after', bytes('x'));
    expect(v).toBeGreaterThan(maxSeen);
    const session = await store.createSession(1000);
    expect(Number(session.id)).toBeGreaterThan(1); // session ids are never reused either
    await store.close();
  });

  it('lets only one process open a directory', async () => {
    const dir = tempDir('md-lock-');
    const store = await open(dir);
    await expectCode(open(dir), 'STORE_LOCKED');
    const other = spawnProcess({ name: 'second-opener', args: [fixture, dir, 'open-only'] });
    expect(await other.waitForOutput(/^(opened|open-failed)/, 30_000)).toBe('open-failed STORE_LOCKED');
    await store.close();
    const again = spawnProcess({ name: 'opener-after-close', args: [fixture, dir, 'open-only'] });
    expect(await again.waitForOutput(/^(opened|open-failed)/, 30_000)).toBe('opened');
    await again.exited;
  });

  it('survives restarts: data, versions, sessions ended by close, watch history floor', async () => {
    const dir = tempDir('md-restart-');
    let store = await open(dir);
    const v1 = await store.put('/a', bytes('1'));
    const session = await store.createSession(1000);
    await store.put('/eph', bytes('e'), { session });
    await store.delete('/a');
    const v2 = await store.put('/a', bytes('2'));
    await store.close();
    store = await open(dir);
    const a = (await store.get('/a'))!;
    expect([text(a.value), a.version, a.createVersion]).toEqual(['2', v2, v2]);
    expect(v2).toBeGreaterThan(v1);
    expect(await store.get('/eph')).toBeUndefined();
    await expectCode(store.watch('/', { onEvent: () => undefined }, { afterVersion: v1 }), 'WATCH_COMPACTED');
    const events: WatchEvent[] = [];
    const page = await store.list('/');
    await store.put('/b', bytes('b'));
    const w = await store.watch('/', { onEvent: (e) => events.push(e) }, { afterVersion: page.revision });
    expect(events.map((e) => e.type === 'put' && e.entry.key)).toEqual(['/b']);
    await w.close();
    await store.close();
  });

  it('cuts a torn tail, refuses damage in the middle', async () => {
    const dir = tempDir('md-torn-');
    let store = await open(dir);
    for (let i = 0; i < 5; i++) await store.put(`/t/${i}`, bytes(String(i)));
    await store.close();
    const wal = join(dir, readdirSync(dir).find((n) => n.startsWith('wal-'))!);
    const good = readFileSync(wal);
    appendFileSync(wal, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5])); // a frame cut short
    store = await open(dir);
    expect((await store.listAll('/t/')).length).toBe(5);
    await store.put('/t/5', bytes('5')); // appends after the cut, not after the garbage
    await store.close();
    store = await open(dir);
    expect((await store.listAll('/t/')).length).toBe(6);
    await store.close();
    const damaged = readFileSync(wal);
    damaged[12] ^= 0xff; // inside the first frame's payload
    writeFileSync(wal, damaged);
    await expectCode(open(dir), 'STORE_CORRUPT');
    expect(good.length).toBeGreaterThan(0);
  });

  it('compacts the log into a snapshot and keeps everything', async () => {
    const dir = tempDir('md-compact-');
    let store = await open(dir, { walCompactBytes: 64 * 1024, watchHistoryEvents: 100 });
    const value = bytes('v'.repeat(2000));
    for (let i = 0; i < 120; i++) await store.put(`/c/${i % 40}`, value);
    const session = await store.createSession(1000);
    await store.put('/c/eph', value, { session });
    const before = await store.listAll('/c/');
    await store.close();
    const files = readdirSync(dir).sort();
    expect(files.filter((f) => f.startsWith('snapshot-'))).toHaveLength(1);
    expect(files.filter((f) => f.startsWith('wal-'))).toHaveLength(1);
    expect(files.find((f) => f.startsWith('snapshot-'))).not.toBe('snapshot-0');
    store = await open(dir);
    const after = await store.listAll('/c/');
    expect(after.map((e) => [e.key, e.version])).toEqual(
      before.filter((e) => e.key !== '/c/eph').map((e) => [e.key, e.version]),
    );
    await store.close();
  });
});
