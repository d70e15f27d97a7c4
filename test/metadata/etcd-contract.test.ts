/**
 * The MetadataStore contract, id allocation and election against the shared real etcd (isolated
 * by a unique root prefix per test).
 */
import { inject } from 'vitest';
import { silentLogger } from '../../lib/log/index.ts';
import { openEtcdStore } from '../../lib/metadata/etcd-store.ts';
import { uniquePrefix } from '../harness/index.ts';
import { type ContractTarget, metadataStoreContract } from './contract.ts';
import { recipesContract } from './recipes.ts';

const target: ContractTarget = {
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
};

metadataStoreContract(target);
recipesContract(target);
