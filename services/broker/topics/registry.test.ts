import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log/index.ts';
import { parseTopicName, type TopicName } from '../../../lib/wire/topic-name.ts';
import { loadBrokerConfig } from '../config.ts';
import type { TopicOwnership } from '../ownership.ts';
import { ConfigPolicies } from '../policies.ts';
import { TopicRegistry } from './registry.ts';

function name(full: string): TopicName {
  const n = parseTopicName(full);
  if ('kind' in n) throw new Error(n.detail);
  return n;
}

/** An ownership whose checks the test answers one by one. */
function gatedOwnership() {
  const waiting: (() => void)[] = [];
  const ownership: TopicOwnership = {
    lookupTopic: () => Promise.reject(new Error('unused')),
    checkOwnership: () => new Promise((resolve) => waiting.push(() => resolve(undefined))),
    onBundleUnload: () => () => undefined,
    close: () => Promise.resolve(),
  };
  return { ownership, waiting };
}

describe('TopicRegistry and bundle unloads', () => {
  const config = loadBrokerConfig({ overrides: { inactiveTopicUnloadMs: 0 } });

  it('a topic whose load passed its ownership check while its bundle unloads is unloaded too', async () => {
    const registry = new TopicRegistry(config, new ConfigPolicies(config), silentLogger());
    const gate = gatedOwnership();
    registry.setOwnership(gate.ownership);
    const topic = name('non-persistent://public/default/racing');
    const other = name('non-persistent://public/default/elsewhere');
    const loading = registry.getTopic(topic, { create: true });
    const otherLoading = registry.getTopic(other, { create: true });
    await new Promise((r) => setImmediate(r));
    expect(gate.waiting).toHaveLength(2);
    // The bundle of `topic` is released while its load is past the check but not finished.
    const unloading = registry.unloadWhere((full) => full === topic.full);
    for (const pass of gate.waiting.splice(0)) pass();
    const loaded = await loading;
    await unloading;
    expect(loaded.closed).toBe(true);
    expect(registry.loadedTopic(topic.full)).toBeUndefined();
    // Topics of other bundles are not touched.
    expect((await otherLoading).closed).toBe(false);
    expect(registry.loadedTopic(other.full)).toBeDefined();
    await registry.closeAll();
  });

  it('without loads in flight an unload closes only the loaded topics that match', async () => {
    const registry = new TopicRegistry(config, new ConfigPolicies(config), silentLogger());
    const a = await registry.getTopic(name('non-persistent://public/default/a'), { create: true });
    const b = await registry.getTopic(name('non-persistent://public/default/b'), { create: true });
    await registry.unloadWhere((full) => full.endsWith('/a'));
    expect([a.closed, b.closed]).toEqual([true, false]);
    await registry.closeAll();
  });
});
