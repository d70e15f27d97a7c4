/** openMetadataStore: URL forms, root prefix isolation, and a clear error for bad URLs. */
import { describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../lib/log/index.ts';
import { openMetadataStore, parseStoreUrl } from '../../lib/metadata/index.ts';
import { tempDir, uniquePrefix } from '../harness/index.ts';
import { bytes, expectCode, text } from './helpers.ts';

describe('openMetadataStore', () => {
  it('parses both URL forms and refuses others', async () => {
    expect(parseStoreUrl('etcd://10.0.0.1:2379,h2:2380/magnetar/prod/')).toEqual({
      kind: 'etcd',
      hosts: ['10.0.0.1:2379', 'h2:2380'],
      path: '/magnetar/prod',
    });
    expect(parseStoreUrl('etcd://h:1')).toEqual({ kind: 'etcd', hosts: ['h:1'], path: '' });
    expect(parseStoreUrl('file:///var/lib/md/')).toEqual({ kind: 'file', hosts: [], path: '/var/lib/md' });
    for (const bad of [
      'zk://h:1/x',
      'etcd://h/x',
      'etcd://h:1//x',
      'file://relative/dir',
      'etcd://a b:1/x',
    ]) {
      await expectCode(() => parseStoreUrl(bad), 'INVALID_ARGUMENT');
    }
  });

  it('opens etcd under a root prefix, isolated from other prefixes', async () => {
    const endpoint = inject('etcdEndpoint');
    const a = await openMetadataStore(`etcd://${endpoint}${uniquePrefix('open')}`, {
      logger: silentLogger(),
    });
    const b = await openMetadataStore(`etcd://${endpoint}${uniquePrefix('open')}`, {
      logger: silentLogger(),
    });
    await a.put('/same/key', bytes('a'));
    expect(await b.get('/same/key')).toBeUndefined();
    expect(text((await a.get('/same/key'))!.value)).toBe('a');
    await a.deletePrefix('/');
    await a.close();
    await b.close();
    await expectCode(a.get('/x'), 'STORE_CLOSED');
  });

  it('opens the embedded store from a file URL', async () => {
    const dir = tempDir('md-open-');
    const store = await openMetadataStore(`file://${dir}`, { logger: silentLogger() });
    await store.put('/k', bytes('v'));
    await store.close();
    const again = await openMetadataStore(`file://${dir}`, { logger: silentLogger() });
    expect(text((await again.get('/k'))!.value)).toBe('v');
    await again.close();
    await expectCode(again.get('/k'), 'STORE_CLOSED');
  });

  it('fails with UNAVAILABLE, after bounded retries, when etcd is not there', async () => {
    const limits = { retryMaxAttempts: 3, opDeadlineMs: 3000 };
    const err = await expectCode(
      openMetadataStore('etcd://127.0.0.1:1/x', { limits, logger: silentLogger() }),
      'UNAVAILABLE',
    );
    expect(err.details.attempts).toBe(3);
  });
});
