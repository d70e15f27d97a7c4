/** The MetadataStore contract against the shared real etcd (isolated by a unique root prefix). */
import { inject } from 'vitest';
import { openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import { silentLogger } from '../../lib/log/index.ts';
import { uniquePrefix } from '../harness/index.ts';
import { metadataStoreContract } from './contract.ts';

metadataStoreContract({
  name: 'etcd',
  async open(limits) {
    const rootPrefix = uniquePrefix('md');
    const opts = { hosts: [inject('etcdEndpoint')], rootPrefix, limits, logger: silentLogger() };
    const store = await openEtcdStore(opts);
    const peer = await openEtcdStore(opts);
    return {
      store,
      peer,
      async close() {
        await store.deletePrefix('/');
        await store.close();
        await peer.close();
      },
    };
  },
});
