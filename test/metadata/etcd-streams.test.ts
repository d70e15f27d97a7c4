/**
 * Closing one stream of the etcd store (a watch, a session's keep-alive stream) stays local to that
 * stream. etcd3 treats an error on a still-writable stream as a broken connection and closes every
 * gRPC channel of the client, and cancelling a stream raises such an error (CANCELLED): a careless
 * close made calls about to start fail with UNAVAILABLE and every other stream of the client
 * reconnect, each close adding churn on a loaded machine. Counted with a spy on etcd3's reset.
 */
import { createRequire } from 'node:module';
import { describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../lib/log/index.ts';
import { openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import { uniquePrefix } from '../harness/index.ts';
import { bytes, waitFor } from './helpers.ts';

interface HostPrototype {
  resetAllServices(this: unknown): void;
}
const { Host } = createRequire(import.meta.url)('etcd3/lib/connection-pool.js') as {
  Host: { prototype: HostPrototype };
};

describe('etcd store streams', () => {
  it('closing a watch or a session does not reset the client connections', async () => {
    let resets = 0;
    const reset = Host.prototype.resetAllServices;
    Host.prototype.resetAllServices = function (this: unknown) {
      resets++;
      reset.call(this);
    };
    const store = await openEtcdStore({
      hosts: [inject('etcdEndpoint')],
      rootPrefix: uniquePrefix('streams'),
      logger: silentLogger(),
    });
    try {
      const seen: string[] = [];
      const kept = await store.watch('/kept/', {
        onEvent: (e) => seen.push(e.type === 'put' ? e.entry.key : e.key),
      });
      const dropped = await store.watch('/dropped/', { onEvent: () => undefined });
      const session = await store.createSession(5000);
      // A round trip after the session exists: its keep-alive stream is open by then.
      await store.put('/kept/1', bytes('1'), { session });
      await waitFor('first event', () => seen.includes('/kept/1'));

      await dropped.close();
      await session.close();
      await store.put('/kept/2', bytes('2'));
      await waitFor('the kept watch still delivers', () => seen.includes('/kept/2'));
      expect(seen).toEqual(['/kept/1', '/kept/1', '/kept/2']);
      expect(resets).toBe(0);
      await kept.close();
    } finally {
      Host.prototype.resetAllServices = reset;
      await store.deletePrefix('/').catch(() => undefined);
      await store.close();
    }
  });
});
