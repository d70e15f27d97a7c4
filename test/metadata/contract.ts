/**
 * The MetadataStore contract, run against every implementation (etcd and embedded). Each test gets
 * a fresh, empty store namespace from the target, plus a `peer`: a second client of the same
 * store (etcd: another connection; embedded: single-process, so the same instance).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetadataLimits } from '../../lib/metadata/limits.ts';
import type { MetadataStore, WatchEvent } from '../../lib/metadata/store.ts';
import { bytes, expectCode, text, waitFor } from './helpers.ts';

export interface ContractStores {
  readonly store: MetadataStore;
  readonly peer: MetadataStore;
  close(): Promise<void>;
}

export interface ContractTarget {
  readonly name: string;
  open(limits?: Partial<MetadataLimits>): Promise<ContractStores>;
}

export function metadataStoreContract(target: ContractTarget): void {
  describe(`MetadataStore contract: ${target.name}`, { concurrent: false }, () => {
    let env: ContractStores;
    let store: MetadataStore;
    let peer: MetadataStore;
    beforeEach(async () => {
      env = await target.open({ maxPageSize: 5, maxListAllEntries: 40, maxTxnOps: 8, maxValueBytes: 4096 });
      store = env.store;
      peer = env.peer;
    });
    afterEach(async () => {
      await env.close();
    });

    it('puts, gets and versions keys; versions are never reused', async () => {
      expect(await store.get('/a/x')).toBeUndefined();
      const v1 = await store.put('/a/x', bytes('one'));
      const e1 = (await peer.get('/a/x'))!;
      expect(text(e1.value)).toBe('one');
      expect(e1.version).toBe(v1);
      expect(e1.createVersion).toBe(v1);
      expect(e1.sessionId).toBeUndefined();
      const v2 = await store.put('/a/x', bytes('two'));
      expect(v2).toBeGreaterThan(v1);
      const e2 = (await store.get('/a/x'))!;
      expect([text(e2.value), e2.version, e2.createVersion]).toEqual(['two', v2, v1]);
      expect(await store.delete('/a/x')).toBe(true);
      expect(await store.delete('/a/x')).toBe(false);
      const v3 = await store.put('/a/x', bytes('three'));
      expect(v3).toBeGreaterThan(v2);
      expect((await store.get('/a/x'))!.createVersion).toBe(v3);
      await store.put('/a/empty', new Uint8Array(0));
      expect((await store.get('/a/empty'))!.value.byteLength).toBe(0);
    });

    it('compare-and-swap: version, create-if-absent, and the three failure codes', async () => {
      const v1 = await store.put('/cas/k', bytes('1'), { expectedVersion: 'absent' });
      const exists = await expectCode(
        store.put('/cas/k', bytes('x'), { expectedVersion: 'absent' }),
        'KEY_EXISTS',
      );
      expect(exists.details).toMatchObject({ key: '/cas/k', actual: v1 });
      const v2 = await store.put('/cas/k', bytes('2'), { expectedVersion: v1 });
      const stale = await expectCode(store.put('/cas/k', bytes('3'), { expectedVersion: v1 }), 'BAD_VERSION');
      expect(stale.details).toMatchObject({ key: '/cas/k', expected: v1, actual: v2 });
      await expectCode(store.put('/cas/none', bytes('3'), { expectedVersion: v1 }), 'NO_SUCH_KEY');
      expect(await store.get('/cas/none')).toBeUndefined();
      expect(text((await store.get('/cas/k'))!.value)).toBe('2');
      await expectCode(store.delete('/cas/k', { expectedVersion: v1 }), 'BAD_VERSION');
      await expectCode(store.delete('/cas/none', { expectedVersion: v1 }), 'NO_SUCH_KEY');
      expect(await store.delete('/cas/k', { expectedVersion: v2 })).toBe(true);
      expect(await store.get('/cas/k')).toBeUndefined();
    });

    it('lets exactly one of many concurrent CAS writers win', async () => {
      const v0 = await store.put('/race/k', bytes('0'));
      const clients = [store, peer];
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          clients[i % 2].put('/race/k', bytes(`w${i}`), { expectedVersion: v0 }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason.code).toBe('BAD_VERSION');
      const created = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          clients[i % 2].put('/race/new', bytes(`c${i}`), { expectedVersion: 'absent' }),
        ),
      );
      expect(created.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });

    it('lists in key order, pages, bounds the page, isolates prefixes', async () => {
      const names = ['b', 'a', 'c', 'e', 'd', 'f', 'g'];
      for (const n of names) await store.put(`/l/p/${n}`, bytes(n));
      await store.put('/l/pp', bytes('sibling'));
      await store.put('/l/p', bytes('the prefix key itself'));
      const first = await store.list('/l/p/', { limit: 3 });
      expect(first.entries.map((e) => e.key)).toEqual(['/l/p/a', '/l/p/b', '/l/p/c']);
      expect(first.more).toBe(true);
      expect(first.revision).toBeGreaterThanOrEqual(first.entries[2].version);
      const rest = await peer.list('/l/p/', { startAfter: '/l/p/c', limit: 100 });
      expect(rest.entries.map((e) => e.key)).toEqual(['/l/p/d', '/l/p/e', '/l/p/f', '/l/p/g'].slice(0, 5));
      const bounded = await store.list('/l/p/', { limit: 1000 });
      expect(bounded.entries).toHaveLength(5); // maxPageSize
      expect(bounded.more).toBe(true);
      const keysOnly = await store.list('/l/p/', { keysOnly: true, limit: 2 });
      expect(keysOnly.entries.map((e) => e.value.byteLength)).toEqual([0, 0]);
      expect(keysOnly.entries[0].version).toBeGreaterThan(0);
      const all = await store.listAll('/l/p/');
      expect(all.map((e) => text(e.value))).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
      expect((await store.list('/l/none/')).entries).toEqual([]);
      expect((await store.list('/l/p/', { startAfter: '/zzz' })).entries).toEqual([]);
      expect((await store.list('/l/p/', { startAfter: '/a', limit: 1 })).entries.map((e) => e.key)).toEqual([
        '/l/p/a',
      ]);
      await expectCode(store.list('/l/p/', { limit: 0 }), 'INVALID_ARGUMENT');
    });

    it('refuses listAll beyond maxListAllEntries, and deletes a prefix', async () => {
      await store.txn(
        Array.from({ length: 8 }, (_, i) => ({ op: 'put' as const, key: `/big/${i}`, value: bytes('v') })),
      );
      for (let b = 0; b < 5; b++) {
        await store.txn(
          Array.from({ length: 8 }, (_, i) => ({
            op: 'put' as const,
            key: `/big/${b}-${i}`,
            value: bytes('v'),
          })),
        );
      }
      await expectCode(store.listAll('/big/'), 'TOO_MANY_KEYS');
      await store.put('/bigger', bytes('sibling'));
      expect(await store.deletePrefix('/big/')).toBe(48);
      expect(await store.listAll('/big/')).toEqual([]);
      expect(await store.get('/bigger')).toBeDefined();
    });

    it('applies a txn all-or-nothing and names the failing key', async () => {
      const va = await store.put('/t/a', bytes('a'));
      const vb = await store.put('/t/b', bytes('b'));
      const versions = await store.txn([
        { op: 'put', key: '/t/a', value: bytes('a2'), expectedVersion: va },
        { op: 'delete', key: '/t/b', expectedVersion: vb },
        { op: 'put', key: '/t/c', value: bytes('c'), expectedVersion: 'absent' },
        { op: 'check', key: '/t/d', expectedVersion: 'absent' },
      ]);
      expect(versions[0]).toBeGreaterThan(vb);
      expect(versions).toEqual([versions[0], undefined, versions[0], undefined]);
      expect((await store.get('/t/c'))!.version).toBe(versions[0]);
      expect(await store.get('/t/b')).toBeUndefined();
      const va2 = versions[0]!;
      const err = await expectCode(
        peer.txn([
          { op: 'put', key: '/t/x', value: bytes('x') },
          { op: 'check', key: '/t/a', expectedVersion: va2 },
          { op: 'put', key: '/t/c', value: bytes('c2'), expectedVersion: va }, // stale
          { op: 'delete', key: '/t/a' },
        ]),
        'BAD_VERSION',
      );
      expect(err.details).toMatchObject({ key: '/t/c', expected: va, actual: va2 });
      expect(await store.get('/t/x')).toBeUndefined();
      expect(text((await store.get('/t/a'))!.value)).toBe('a2');
      await expectCode(store.txn([{ op: 'check', key: '/t/c', expectedVersion: 'absent' }]), 'KEY_EXISTS');
      await expectCode(store.txn([{ op: 'delete', key: '/t/zz', expectedVersion: 5 }]), 'NO_SUCH_KEY');
    });

    it('refuses bad input with clear codes', async () => {
      await expectCode(store.put('no-slash', bytes('x')), 'INVALID_KEY');
      await expectCode(store.put('/a//b', bytes('x')), 'INVALID_KEY');
      await expectCode(store.put('/a/\0', bytes('x')), 'INVALID_KEY');
      await expectCode(store.put(`/${'k'.repeat(2000)}`, bytes('x')), 'INVALID_KEY');
      await expectCode(store.get('/a/\ud800'), 'INVALID_KEY');
      await expectCode(store.put('/v', new Uint8Array(4097)), 'VALUE_TOO_LARGE');
      await expectCode(store.put('/v', bytes('x'), { expectedVersion: 0 }), 'INVALID_ARGUMENT');
      await expectCode(store.put('/v', bytes('x'), { expectedVersion: 1.5 }), 'INVALID_ARGUMENT');
      await expectCode(store.list('relative/'), 'INVALID_KEY');
      await expectCode(store.txn([]), 'INVALID_ARGUMENT');
      await expectCode(
        store.txn([
          { op: 'put', key: '/d', value: bytes('1') },
          { op: 'delete', key: '/d' },
        ]),
        'INVALID_ARGUMENT',
      );
      const nine = Array.from({ length: 9 }, (_, i) => ({
        op: 'put' as const,
        key: `/n/${i}`,
        value: bytes('v'),
      }));
      await expectCode(store.txn(nine), 'TXN_TOO_LARGE');
      await expectCode(store.createSession(10), 'INVALID_ARGUMENT');
      expect(await store.list('/', { limit: 5 })).toMatchObject({ entries: [] });
    });

    it('binds keys to a session; close() deletes them at once', async () => {
      const session = await store.createSession(2000);
      expect(session.alive).toBe(true);
      expect(session.ttlMs).toBeGreaterThanOrEqual(2000);
      await store.put('/s/eph', bytes('e'), { session });
      await store.txn([{ op: 'put', key: '/s/eph2', value: bytes('e2'), session }]);
      await store.put('/s/durable', bytes('d'));
      expect((await peer.get('/s/eph'))!.sessionId).toBe(session.id);
      let lost = 0;
      session.onLost(() => lost++);
      await session.close();
      expect(session.alive).toBe(false);
      expect(await peer.get('/s/eph')).toBeUndefined();
      expect(await peer.get('/s/eph2')).toBeUndefined();
      expect(await peer.get('/s/durable')).toBeDefined();
      await expectCode(store.put('/s/late', bytes('x'), { session }), 'SESSION_CLOSED');
      await session.close(); // idempotent
      expect(lost).toBe(0);
    });

    it('keeps a session alive well past its TTL while its owner lives', async () => {
      const session = await store.createSession(2000);
      await store.put('/ka/k', bytes('k'), { session });
      await new Promise((r) => setTimeout(r, 2 * session.ttlMs + 500));
      expect(session.alive).toBe(true);
      expect((await peer.get('/ka/k'))?.sessionId).toBe(session.id);
      await session.close();
    });

    it('revokeSession ends a session from any client: keys go, onLost fires once', async () => {
      const session = await store.createSession(5000);
      await store.put('/r/k', bytes('k'), { session });
      const reasons: Error[] = [];
      session.onLost((r) => reasons.push(r));
      expect(await peer.revokeSession(session.id)).toBe(true);
      // Whether or not the owner noticed yet, a write on the revoked session is refused as lost.
      await expectCode(store.put('/r/k1', bytes('x'), { session }), 'SESSION_LOST');
      await waitFor('the owner to see the loss', () => reasons.length > 0);
      expect(session.alive).toBe(false);
      expect(await store.get('/r/k')).toBeUndefined();
      expect((reasons[0] as { code?: string }).code).toBe('SESSION_LOST');
      await expectCode(store.put('/r/k2', bytes('x'), { session }), 'SESSION_LOST');
      let late = 0;
      session.onLost(() => late++);
      await waitFor('a late listener to be told', () => late === 1);
      await new Promise((r) => setTimeout(r, 200));
      expect(reasons).toHaveLength(1);
      expect(await peer.revokeSession(session.id)).toBe(false);
      await session.close(); // closing a lost session is harmless
    });

    it('watches a prefix: every change, in order, nothing from siblings', async () => {
      const events: WatchEvent[] = [];
      const watch = await peer.watch('/w/', { onEvent: (e) => events.push(e) });
      const v1 = await store.put('/w/a', bytes('1'));
      await store.put('/wx', bytes('sibling'));
      const v2 = await store.put('/w/a', bytes('2'), { expectedVersion: v1 });
      const [v3] = await store.txn([
        { op: 'put', key: '/w/b', value: bytes('b') },
        { op: 'delete', key: '/w/a' },
      ]);
      await waitFor('4 events', () => events.length >= 4);
      const show = (e: WatchEvent) =>
        e.type === 'put' ? `put ${e.entry.key}@${e.entry.version}` : `del ${e.key}@${e.version}`;
      expect(events.slice(0, 2).map(show)).toEqual([`put /w/a@${v1}`, `put /w/a@${v2}`]);
      // The txn's two events share its version; their order within one version is not part of the contract.
      expect(new Set(events.slice(2).map(show))).toEqual(new Set([`put /w/b@${v3}`, `del /w/a@${v3}`]));
      const put = events[1];
      expect(put.type === 'put' && text(put.entry.value)).toBe('2');
      await watch.close();
      await store.put('/w/c', bytes('after close'));
      await store.put('/w/sync', bytes('x'));
      await new Promise((r) => setTimeout(r, 300));
      expect(events).toHaveLength(4);
    });

    it('list-then-watch with afterVersion misses nothing; session end shows as deletes', async () => {
      await store.put('/lw/1', bytes('1'));
      const page = await store.list('/lw/');
      const v2 = await store.put('/lw/2', bytes('2')); // after the list, before the watch
      const session = await store.createSession(5000);
      const events: WatchEvent[] = [];
      let thrown = 0;
      const watch = await peer.watch(
        '/lw/',
        {
          onEvent: (e) => {
            if (e.type === 'put' && e.entry.key === '/lw/boom') {
              thrown++;
              throw new Error('handler bug');
            }
            events.push(e);
          },
        },
        { afterVersion: page.revision },
      );
      await store.put('/lw/boom', bytes('x'));
      await store.put('/lw/eph', bytes('e'), { session });
      await session.close();
      await waitFor('events through the session end', () => events.some((e) => e.type === 'delete'));
      expect(thrown).toBe(1);
      const summary = events.map((e) => (e.type === 'put' ? `put ${e.entry.key}` : `del ${e.key}`));
      expect(summary).toEqual(['put /lw/2', 'put /lw/eph', 'del /lw/eph']);
      expect(events[0].type === 'put' && events[0].entry.version).toBe(v2);
      await watch.close();
    });
  });
}
