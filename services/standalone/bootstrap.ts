/**
 * First-start metadata of a standalone cluster, made idempotently on every start: the cluster
 * (with its service URLs), the tenant `public` and the namespace `public/default`, the way the
 * admin API would create them. Existing ones are left as they are.
 */
import { createNamespace } from '../../lib/policies/namespaces.ts';
import type { PolicyStore } from '../../lib/policies/store.ts';

export interface BootstrapInput {
  readonly cluster: string;
  readonly serviceUrl: string;
  readonly brokerServiceUrl: string;
}

export async function ensureDefaults(store: PolicyStore, input: BootstrapInput): Promise<string[]> {
  const created: string[] = [];
  if (!(await store.getCluster(input.cluster))) {
    await store.createCluster(input.cluster, {
      serviceUrl: input.serviceUrl,
      brokerServiceUrl: input.brokerServiceUrl,
    });
    created.push(`cluster ${input.cluster}`);
  }
  if (!(await store.getTenant('public'))) {
    await store.createTenant('public', { adminRoles: [], allowedClusters: [input.cluster] });
    created.push('tenant public');
  }
  const ns = { tenant: 'public', namespace: 'default' };
  if (!(await store.getPolicies(ns))) {
    await createNamespace(store, ns);
    created.push('namespace public/default');
  }
  return created;
}
