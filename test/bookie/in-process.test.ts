/**
 * startBookie in-process (as standalone mode uses it): an injected embedded metadata store,
 * random ports, close(), and a restart on the same dirs.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Status } from '../../lib/gen/magnetar/bookie/v1/bookie_pb.ts';
import { silentLogger } from '../../lib/log/index.ts';
import { keys, openMetadataStore } from '../../lib/metadata/index.ts';
import { startBookie } from '../../services/bookie/bookie.ts';
import { loadBookieConfig } from '../../services/bookie/config.ts';
import { BookieTestClient, payloadFor } from '../../services/bookie/testing/client.ts';
import { removeTempDirs, tempDir } from '../harness/index.ts';

afterAll(removeTempDirs);

describe('startBookie in-process', () => {
  it('serves on random ports with an injected store, closes cleanly, and keeps its data', async () => {
    const root = tempDir('inproc-');
    const store = await openMetadataStore(`file://${join(root, 'meta')}`);
    const cfg = loadBookieConfig({
      overrides: {
        bookieId: 'inproc-1',
        bindHost: '127.0.0.1',
        advertisedHost: '127.0.0.1',
        grpcPort: 0,
        httpPort: 0,
        journalDir: join(root, 'journal'),
        ledgerDir: join(root, 'ledgers'),
        journalFileBytes: 8 * 1024 * 1024,
        maxEntryBytes: 1024 * 1024,
      },
    });
    const start = () =>
      startBookie(cfg, { metadataStore: store, logger: silentLogger(), processMetrics: false });
    const b = await start();
    expect(b.grpcPort).toBeGreaterThan(0);
    expect(b.httpPort).toBeGreaterThan(0);
    expect(await store.get(keys.bookieRegistration('standalone', 'writable', 'inproc-1'))).toBeDefined();
    const health = await fetch(`http://127.0.0.1:${b.httpPort}/ready`);
    expect(health.status).toBe(200);

    const client = new BookieTestClient(b.address);
    const s = client.openAddSession();
    const res = await s.add(
      Array.from({ length: 5 }, (_, e) => ({ ledgerId: 1, entryId: e, payload: payloadFor(1, e, 100) })),
    );
    expect(res.every((r) => r.status === Status.OK)).toBe(true);
    await s.end();
    client.close();
    await b.close();
    expect(await store.get(keys.bookieRegistration('standalone', 'writable', 'inproc-1'))).toBeUndefined();

    const b2 = await start();
    const c2 = new BookieTestClient(b2.address);
    expect((await c2.readEntry({ ledgerId: 1n, entryId: 4n })).status).toBe(Status.OK);
    c2.close();
    await b2.close();
    await store.close();
  });
});
