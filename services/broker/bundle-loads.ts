/**
 * The per-bundle part of the broker's load report (lib/cluster BundleLoadSample): the loaded
 * topics' traffic summed per owned bundle. The coordinator splits a bundle on these figures and
 * sheds the busiest bundles first, so every owned bundle is reported, idle ones with zeros.
 * Pure: each topic is hashed once (Pulsar's CRC-32 of the full name) and placed by range.
 */
import type { BundleLoadSample } from '../../lib/cluster/broker-registry.ts';
import { type BundleRange, formatRange, rangeContains, topicHash } from '../../lib/cluster/bundle-range.ts';
import { parseTopicName } from '../../lib/cluster/topic-name.ts';
import type { TopicLoad } from './ownership.ts';
import { CounterSum } from './topics/topic.ts';

export interface OwnedBundleRange {
  readonly tenant: string;
  readonly namespace: string;
  readonly range: BundleRange;
}

/** One sample per owned bundle; topics outside every owned bundle (being unloaded) are left out. */
export function bundleLoads(
  owned: readonly OwnedBundleRange[],
  topics: readonly TopicLoad[],
): BundleLoadSample[] {
  const byNamespace = new Map<string, { range: BundleRange; sum: CounterSum }[]>();
  const out: { namespace: string; range: BundleRange; sum: CounterSum }[] = [];
  for (const b of owned) {
    const ns = `${b.tenant}/${b.namespace}`;
    const entry = { namespace: ns, range: b.range, sum: new CounterSum() };
    out.push(entry);
    const list = byNamespace.get(ns) ?? [];
    list.push(entry);
    byNamespace.set(ns, list);
  }
  for (const t of topics) {
    let name: ReturnType<typeof parseTopicName>;
    try {
      name = parseTopicName(t.topic);
    } catch {
      continue; // a loaded topic always has a valid name; never fail the report over one
    }
    const candidates = byNamespace.get(`${name.tenant}/${name.namespace}`);
    if (!candidates) continue;
    const hash = topicHash(name.full);
    const hit = candidates.find((c) => rangeContains(c.range, hash));
    hit?.sum.add(t);
  }
  return out.map(({ namespace, range, sum }) => ({ namespace, range: formatRange(range), ...sum }));
}
