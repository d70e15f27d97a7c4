/**
 * The etcd store when etcd is slow or gone, for real: a private etcd is paused (SIGSTOP) or stopped
 * and restarted. Calls fail after bounded retries (reads: UNAVAILABLE; writes: UNAVAILABLE when
 * provably not sent, else TIMEOUT = outcome unknown), never report success; sessions are lost after
 * their TTL; everything recovers once etcd is back, and watches resume without gaps.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log/index.ts';
import { type EtcdMetadataStore, openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import type { MetadataLimits } from '../../lib/metadata/limits.ts';
import type { WatchEvent } from '../../lib/metadata/store.ts';
import { type EtcdInstance, startLocalEtcd, tempDir } from '../harness/index.ts';
import { bytes, expectCode, text, waitFor } from './helpers.ts';

const limits: Partial<MetadataLimits> = {
  opAttemptTimeoutMs: 400,
  opDeadlineMs: 2500,
  retryMaxAttempts: 4,
  retryBackoffInitialMs: 50,
  retryBackoffMaxMs: 300,
};

const failureCode = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    return String((err as { code?: string }).code);
  }
  return 'SUCCESS';
};

describe('etcd store under etcd faults', { concurrent: false }, () => {
  const etcds: EtcdInstance[] = [];
  const stores: EtcdMetadataStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
    for (const e of etcds) {
      e.resume?.();
      await e.stop().catch(() => undefined);
    }
  });
  const openStore = async (endpoint: string, extra: Partial<MetadataLimits> = {}) => {
    const s = await openEtcdStore({
      hosts: [endpoint],
      rootPrefix: '/f',
      limits: { ...limits, ...extra },
      logger: silentLogger(),
    });
    stores.push(s);
    return s;
  };

  it('paused etcd: bounded failures, session lost after TTL, recovery and gap-free watch after resume', async () => {
    const etcd = await startLocalEtcd();
    etcds.push(etcd);
    const store = await openStore(etcd.endpoint);
    const other = await openStore(etcd.endpoint);
    const v1 = await store.put('/k', bytes('before'));
    const session = await store.createSession(1000);
    await store.put('/eph', bytes('e'), { session });
    const lost: Error[] = [];
    session.onLost((e) => lost.push(e));
    const events: WatchEvent[] = [];
    const watchErrors: Error[] = [];
    const watch = await other.watch('/', {
      onEvent: (e) => events.push(e),
      onError: (e) => watchErrors.push(e),
    });

    etcd.pause!();
    expect(await failureCode(store.get('/k'))).toBe('UNAVAILABLE');
    expect(await failureCode(store.list('/'))).toBe('UNAVAILABLE');
    expect(['TIMEOUT', 'UNAVAILABLE']).toContain(
      await failureCode(store.put('/k', bytes('during'), { expectedVersion: v1 })),
    );
    expect(['TIMEOUT', 'UNAVAILABLE']).toContain(await failureCode(store.put('/unsure', bytes('x'))));
    await waitFor('session loss surfaced', () => lost.length === 1);
    expect(session.alive).toBe(false);
    expect((lost[0] as { code?: string }).code).toBe('SESSION_LOST');
    await expectCode(store.put('/eph2', bytes('x'), { session }), 'SESSION_LOST');

    etcd.resume!();
    // Recovery: the same clients work again; the lost session's keys are gone (revoked or expired).
    await waitFor('reads work again', async () => (await failureCode(store.get('/k'))) === 'SUCCESS');
    await waitFor('lost session keys gone', async () => (await other.get('/eph')) === undefined);
    const fresh = await store.createSession(2000);
    await store.put('/eph3', bytes('new'), { session: fresh });
    // A write whose outcome was unknown is resolved by reading: it is either there or not, never half.
    const k = (await store.get('/k'))!;
    expect(['before', 'during']).toContain(text(k.value));
    const after = await store.put('/after', bytes('a'));
    await waitFor('watch delivers changes after the pause', () =>
      events.some((e) => e.type === 'put' && e.entry.key === '/after'),
    );
    const versions = events.map((e) => (e.type === 'put' ? e.entry.version : e.version));
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(events.some((e) => e.type === 'delete' && e.key === '/eph')).toBe(true);
    expect(events.at(-1)?.type === 'put' && events.at(-1)).toMatchObject({
      entry: { key: '/after', version: after },
    });
    expect(watchErrors).toEqual([]);
    await watch.close();
    await fresh.close();
  });

  it('stopped etcd: writes are UNAVAILABLE and really not applied; clients and watches recover on restart', async () => {
    const dataDir = tempDir('etcd-restart-');
    let etcd = await startLocalEtcd({ dataDir });
    etcds.push(etcd);
    const port = Number(etcd.endpoint.split(':')[1]);
    const store = await openStore(etcd.endpoint);
    const watcher = await openStore(etcd.endpoint);
    await store.put('/base', bytes('0'));
    const events: WatchEvent[] = [];
    const watch = await watcher.watch('/', { onEvent: (e) => events.push(e) });
    const session = await store.createSession(1000);
    const lost: Error[] = [];
    session.onLost((e) => lost.push(e));

    await etcd.stop();
    expect(await failureCode(store.get('/base'))).toBe('UNAVAILABLE');
    const write = await expectCode(store.put('/while-down', bytes('x')), 'UNAVAILABLE');
    expect(write.details.attempts).toBeGreaterThan(1); // retried, and within the bound:
    expect(write.details.attempts).toBeLessThanOrEqual(limits.retryMaxAttempts!);
    await expectCode(
      store.txn([{ op: 'put', key: '/tx', value: bytes('x'), expectedVersion: 'absent' }]),
      'UNAVAILABLE',
    );
    await expectCode(store.createSession(1000), 'UNAVAILABLE');
    await waitFor('session lost while etcd is down', () => lost.length === 1);

    etcd = await startLocalEtcd({ dataDir, clientPort: port });
    etcds.push(etcd);
    await waitFor('store reconnects', async () => (await failureCode(store.get('/base'))) === 'SUCCESS');
    expect(await store.get('/while-down')).toBeUndefined(); // UNAVAILABLE meant: not applied
    expect(await store.get('/tx')).toBeUndefined();
    const v = await store.put('/after-restart', bytes('y'));
    await waitFor('watch resumed after restart', () =>
      events.some((e) => e.type === 'put' && e.entry.key === '/after-restart' && e.entry.version === v),
    );
    await watch.close();
  });

  it('history compacted away: a watch cannot start before it (WATCH_COMPACTED), lists still work', async () => {
    const etcd = await startLocalEtcd();
    etcds.push(etcd);
    const store = await openStore(etcd.endpoint);
    const page = await store.list('/c/');
    for (let i = 0; i < 5; i++) await store.put(`/c/${i}`, bytes(String(i)));
    const now = (await store.list('/c/')).revision;
    const raw = new Etcd3({ hosts: `http://${etcd.endpoint}` });
    await raw.kv.compact({ revision: now, physical: true });
    raw.close();
    await expectCode(
      store.watch('/c/', { onEvent: () => undefined }, { afterVersion: page.revision }),
      'WATCH_COMPACTED',
    );
    expect((await store.listAll('/c/')).map((e) => text(e.value))).toEqual(['0', '1', '2', '3', '4']);
    const events: WatchEvent[] = [];
    const watch = await store.watch('/c/', { onEvent: (e) => events.push(e) }, { afterVersion: now });
    await store.put('/c/5', bytes('5'));
    await waitFor('event after the compaction point', () => events.length === 1);
    await watch.close();
  });

  it('a watch that cannot reconnect for watchGiveUpMs ends with UNAVAILABLE', async () => {
    const etcd = await startLocalEtcd();
    etcds.push(etcd);
    const store = await openStore(etcd.endpoint, { watchGiveUpMs: 1000 });
    const errors: Error[] = [];
    await store.watch('/', { onEvent: () => undefined, onError: (e) => errors.push(e) });
    await etcd.stop();
    await waitFor('watch gives up', () => errors.length === 1);
    expect((errors[0] as { code?: string }).code).toBe('UNAVAILABLE');
  });
});
