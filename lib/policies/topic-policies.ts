/**
 * Topic-level policy overrides: one document per topic (`/global/topic-policies/...`), same field
 * names as the namespace document. Writes are CAS read-modify-writes that also pin the namespace
 * document (a `check` at its read version), so no override outlives a concurrent namespace delete.
 */
import { encodeJson } from './codec.ts';
import { policyErrors } from './errors.ts';
import { formatNamespace, type TopicName } from './names.ts';
import type { PolicyStore } from './store.ts';
import type { TopicPolicies } from './types.ts';

export async function updateTopicPolicies<T>(
  store: PolicyStore,
  topic: TopicName,
  mutate: (p: TopicPolicies) => T,
): Promise<T> {
  return store.retryCas(`topic policies of ${topic.full}`, async () => {
    const ns = await store.readPolicies(topic);
    if (!ns || ns.value.deleted)
      throw policyErrors.make('NAMESPACE_NOT_FOUND', { namespace: formatNamespace(topic) });
    const cur = await store.readTopicPolicies(topic);
    const next = structuredClone(cur?.value ?? {});
    const result = mutate(next);
    const key = store.topicPoliciesKey(topic);
    const check = { op: 'check' as const, key: ns.entry.key, expectedVersion: ns.version };
    if (Object.keys(next).length === 0) {
      if (cur) await store.commit([check, { op: 'delete', key, expectedVersion: cur.version }]);
    } else {
      await store.commit([
        check,
        { op: 'put', key, value: encodeJson(next), expectedVersion: cur ? cur.version : 'absent' },
      ]);
    }
    return result;
  });
}
