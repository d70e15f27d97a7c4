/**
 * Partitioned-topic metadata: `{partitions: N}` per partitioned topic in the configuration store.
 * Create (409 if it exists, 406 for a count outside 1..max), increase only, delete. Each write
 * pins the namespace document (a `check` op at its read version), so a topic is never created in a
 * namespace that a concurrent delete has marked deleted.
 */
import { decodePartitioned, encodeJson } from './codec.ts';
import { policyErrors } from './errors.ts';
import { decideAutoTopicCreation } from './lifecycle.ts';
import { formatNamespace, type TopicName } from './names.ts';
import type { PolicyStore } from './store.ts';

function checkCount(store: PolicyStore, partitions: number): void {
  const max = store.defaults.maxNumPartitionsPerPartitionedTopic;
  if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > max) {
    throw policyErrors.make('INVALID_PARTITIONS', { partitions, max });
  }
}

async function liveNamespace(store: PolicyStore, topic: TopicName) {
  const ns = await store.readPolicies(topic);
  if (!ns || ns.value.deleted)
    throw policyErrors.make('NAMESPACE_NOT_FOUND', { namespace: formatNamespace(topic) });
  return ns;
}

export async function createPartitionedTopic(
  store: PolicyStore,
  topic: TopicName,
  partitions: number,
): Promise<void> {
  checkCount(store, partitions);
  if (topic.partitionIndex >= 0)
    throw policyErrors.make('INVALID_NAME', { kind: 'partitioned topic', name: topic.full });
  await store.retryCas(`topic ${topic.full}`, async () => {
    const ns = await liveNamespace(store, topic);
    if (await store.readPartitioned(topic))
      throw policyErrors.make('PARTITIONED_TOPIC_EXISTS', { topic: topic.full });
    await store.commit([
      { op: 'check', key: ns.entry.key, expectedVersion: ns.version },
      {
        op: 'put',
        key: store.partitionedKey(topic),
        value: encodeJson({ partitions }),
        expectedVersion: 'absent',
      },
    ]);
  });
}

/** Increase the partition count; returns the previous count (the caller creates the new partitions). */
export async function updatePartitionedTopic(
  store: PolicyStore,
  topic: TopicName,
  partitions: number,
): Promise<number> {
  checkCount(store, partitions);
  return store.retryCas(`topic ${topic.full}`, async () => {
    const ns = await liveNamespace(store, topic);
    const e = await store.readPartitioned(topic);
    if (!e) throw policyErrors.make('PARTITIONED_TOPIC_NOT_FOUND', { topic: topic.full });
    const stored = decodePartitioned(e.key, e.value);
    if (partitions <= stored.partitions) {
      throw policyErrors.make('PARTITIONS_NOT_INCREASED', {
        topic: topic.full,
        current: stored.partitions,
        partitions,
      });
    }
    await store.commit([
      { op: 'check', key: ns.entry.key, expectedVersion: ns.version },
      { op: 'put', key: e.key, value: encodeJson({ partitions }), expectedVersion: e.version },
    ]);
    return stored.partitions;
  });
}

export async function deletePartitionedTopic(store: PolicyStore, topic: TopicName): Promise<number> {
  return store.retryCas(`topic ${topic.full}`, async () => {
    const e = await store.readPartitioned(topic);
    if (!e) throw policyErrors.make('PARTITIONED_TOPIC_NOT_FOUND', { topic: topic.full });
    const { partitions } = decodePartitioned(e.key, e.value);
    await store.commit([
      { op: 'delete', key: e.key, expectedVersion: e.version },
      { op: 'delete', key: store.topicPoliciesKey(topic) },
    ]);
    return partitions;
  });
}

/**
 * What the broker answers to PARTITIONED_METADATA (and uses before auto-creating a topic): the
 * stored partition count, or — when the topic is unknown, `autoCreate` is asked and the namespace
 * (or broker default) auto-creates partitioned topics — the count it just created (Pulsar does the
 * same on a partitioned-metadata lookup). 0 = not partitioned.
 */
export async function partitionedMetadataForClient(
  store: PolicyStore,
  topic: TopicName,
  opts: { autoCreate: boolean },
): Promise<number> {
  if (topic.partitionIndex >= 0) return 0;
  const current = await store.getPartitionedMetadata(topic);
  if (current.partitions > 0 || !opts.autoCreate) return current.partitions;
  const ns = await store.getPolicies(topic);
  if (!ns) throw policyErrors.make('NAMESPACE_NOT_FOUND', { namespace: formatNamespace(topic) });
  const decision = decideAutoTopicCreation(topic, ns.autoTopicCreationOverride, store.defaults);
  if (!decision.create || decision.partitions === 0) return 0;
  try {
    await createPartitionedTopic(store, topic, decision.partitions);
  } catch (err) {
    if (!policyErrors.is(err, 'PARTITIONED_TOPIC_EXISTS')) throw err;
  }
  return (await store.getPartitionedMetadata(topic)).partitions;
}
