/**
 * Policy-enforcement fixture: real bookie processes and the shared etcd (cluster.ts), a
 * lib/policies PolicyStore on it, and an in-process broker that resolves its policies from that
 * store and re-applies them on every change (PolicyStore.onChange → Broker.policiesChanged), as
 * main.ts wires it. Each test uses its own namespace under `public`.
 */
import { PolicyStoreProvider } from '../../lib/policies/broker-provider.ts';
import { builtinPolicyDefaults } from '../../lib/policies/defaults.ts';
import type { NamespaceName } from '../../lib/policies/names.ts';
import { createNamespace, updatePolicies } from '../../lib/policies/namespaces.ts';
import { PolicyStore } from '../../lib/policies/store.ts';
import type { Policies } from '../../lib/policies/types.ts';
import { PersistentTopic } from '../../services/broker/topics/persistent-topic.ts';
import { startStorageBroker, startStorageCluster, type StorageCluster } from './cluster.ts';

export interface PolicyCluster {
  readonly sc: StorageCluster;
  readonly ps: PolicyStore;
  readonly broker: Awaited<ReturnType<typeof startStorageBroker>>;
  /** Create `public/<name>` with these namespace policies; returns "public/<name>". */
  namespace(name: string, initial?: Partial<Policies>): Promise<NamespaceName>;
  update(ns: NamespaceName, mutate: (p: Policies) => void): Promise<void>;
  /** The loaded persistent topic (throws when it is not loaded). */
  topic(full: string): PersistentTopic;
  close(): Promise<void>;
}

export async function startPolicyCluster(
  etcdEndpoint: string,
  opts: { bookies?: number; broker?: Record<string, unknown> } = {},
): Promise<PolicyCluster> {
  const sc = await startStorageCluster(etcdEndpoint, opts.bookies ?? 1, 1);
  const ps = new PolicyStore(sc.store, {
    cluster: sc.rc.cluster,
    defaults: {
      ...builtinPolicyDefaults(),
      managedLedgerDefaultEnsembleSize: 1,
      managedLedgerDefaultWriteQuorum: 1,
      managedLedgerDefaultAckQuorum: 1,
    },
  });
  await ps.start();
  const broker = await startStorageBroker(sc, opts.broker ?? {}, { policies: new PolicyStoreProvider(ps) });
  ps.onChange((change) => {
    if (change.kind === 'namespace')
      void broker.policiesChanged({ namespace: `${change.tenant}/${change.namespace}` });
    else if (change.kind === 'topic-policies') void broker.policiesChanged({ topic: change.topic });
  });
  return {
    sc,
    ps,
    broker,
    async namespace(name, initial) {
      const ns = { tenant: 'public', namespace: name };
      await createNamespace(ps, ns, { initial });
      return ns;
    },
    async update(ns, mutate) {
      await updatePolicies(ps, ns, (p) => {
        mutate(p);
      });
    },
    topic(full) {
      const t = broker.topics.loadedTopic(full);
      if (!(t instanceof PersistentTopic)) throw new Error(`${full} is not a loaded persistent topic`);
      return t;
    },
    async close() {
      await broker.storageClose();
      await ps.close();
      await sc.stop();
    },
  };
}
