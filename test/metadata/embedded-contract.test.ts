/** The MetadataStore contract, id allocation and election on the embedded file-backed store. */
import { silentLogger } from '../../lib/log/index.ts';
import { openEmbeddedStore } from '../../lib/metadata/embedded-store.ts';
import { tempDir } from '../harness/index.ts';
import { type ContractTarget, metadataStoreContract } from './contract.ts';
import { recipesContract } from './recipes.ts';

const target: ContractTarget = {
  name: 'embedded',
  async open(limits) {
    // Single-process store: the "peer" client is the same instance.
    const store = await openEmbeddedStore({ dir: tempDir('md-embedded-'), limits, logger: silentLogger() });
    return { store, peer: store, close: () => store.close() };
  },
};

metadataStoreContract(target);
recipesContract(target);
