import { describe, expect, it } from 'vitest';
import {
  bundleForHash,
  bundleRanges,
  checkBoundaries,
  fullRangeBoundaries,
  splitBundle,
  topicHash,
} from './bundles.ts';
import { builtinPolicyDefaults, emptyPolicies } from './defaults.ts';
import { policyErrors } from './errors.ts';
import { parseTopicName, partitionedParent, partitionName } from './names.ts';
import { resolvePolicies } from './resolve.ts';
import { parseAutoTopicCreation, parseBacklogQuota, parsePersistence, parseRetention } from './validate.ts';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('topic names', () => {
  it('normalises short names and parses partitions', () => {
    expect(parseTopicName('t1').full).toBe('persistent://public/default/t1');
    expect(parseTopicName('a/b/c').full).toBe('persistent://a/b/c');
    const p = parseTopicName('non-persistent://a/b/c-partition-3');
    expect(p.domain).toBe('non-persistent');
    expect(p.partitionIndex).toBe(3);
    expect(partitionedParent(p).local).toBe('c');
    expect(partitionName(parseTopicName('a/b/c'), 7).full).toBe('persistent://a/b/c-partition-7');
  });
  it('rejects malformed names with INVALID_NAME', () => {
    for (const bad of ['', 'x://a/b/c', 'a/b', 'a/b/c/d', 'a b/ns/t', 'persistent://a/b/', 'a/b/\u0001']) {
      expect(code(() => parseTopicName(bad))).toBe('INVALID_NAME');
    }
  });
});

describe('bundles', () => {
  it('divides the hash range as Pulsar does (4 bundles: 0x40000000 steps)', () => {
    expect(fullRangeBoundaries(4)).toEqual([
      '0x00000000',
      '0x40000000',
      '0x80000000',
      '0xc0000000',
      '0xffffffff',
    ]);
    const data = { boundaries: fullRangeBoundaries(4), numBundles: 4 };
    expect(bundleRanges(data).map((r) => r.name)[0]).toBe('0x00000000_0x40000000');
    expect(bundleForHash(data, 0).name).toBe('0x00000000_0x40000000');
    expect(bundleForHash(data, 0x40000000).name).toBe('0x40000000_0x80000000');
    expect(bundleForHash(data, 0xffffffff).name).toBe('0xc0000000_0xffffffff');
    expect(code(() => checkBoundaries({ boundaries: ['0x00000000', '0x10'], numBundles: 1 }))).toBe(
      'INVALID_POLICY',
    );
  });
  it('hashes topic names with CRC32 (IEEE)', () => {
    // CRC32("123456789") = 0xcbf43926, the standard check value.
    expect(topicHash('123456789')).toBe(0xcbf43926);
  });
  it('splits a bundle in two equal halves and refuses bad splits', () => {
    const data = { boundaries: fullRangeBoundaries(2), numBundles: 2 };
    const { bundles, children } = splitBundle(data, '0x00000000_0x80000000', {
      maxBundles: 8,
      namespace: 'a/b',
    });
    expect(bundles.numBundles).toBe(3);
    expect(children.map((c) => c.name)).toEqual(['0x00000000_0x40000000', '0x40000000_0x80000000']);
    expect(code(() => splitBundle(data, '0x00000000_0x10000000', { maxBundles: 8, namespace: 'a/b' }))).toBe(
      'BUNDLE_NOT_FOUND',
    );
    expect(code(() => splitBundle(data, 'zz', { maxBundles: 8, namespace: 'a/b' }))).toBe('INVALID_BUNDLE');
    expect(code(() => splitBundle(data, '0x00000000_0x80000000', { maxBundles: 2, namespace: 'a/b' }))).toBe(
      'TOO_MANY_BUNDLES',
    );
    const tiny = { boundaries: ['0x00000000', '0x00000001', '0xffffffff'], numBundles: 2 };
    expect(code(() => splitBundle(tiny, '0x00000000_0x00000001', { maxBundles: 8, namespace: 'a/b' }))).toBe(
      'BUNDLE_NOT_SPLITTABLE',
    );
  });
});

describe('policy validation', () => {
  it('accepts valid policies and keeps only known fields', () => {
    expect(parseRetention({ retentionTimeInMinutes: 60, retentionSizeInMB: -1, junk: 1 })).toEqual({
      retentionTimeInMinutes: 60,
      retentionSizeInMB: -1,
    });
    expect(parseBacklogQuota({ limit: 100, policy: 'producer_exception' })).toEqual({
      limitSize: 100,
      limitTime: -1,
      policy: 'producer_exception',
    });
    expect(
      parsePersistence({ bookkeeperEnsemble: 3, bookkeeperWriteQuorum: 2, bookkeeperAckQuorum: 2 }, 16)
        .bookkeeperEnsemble,
    ).toBe(3);
    expect(
      parseAutoTopicCreation(
        { allowAutoTopicCreation: true, topicType: 'partitioned', defaultNumPartitions: 3 },
        10,
      ),
    ).toEqual({ allowAutoTopicCreation: true, topicType: 'partitioned', defaultNumPartitions: 3 });
  });
  it('answers 400 for wrong shapes and 412 for bad values', () => {
    expect(code(() => parseRetention('x'))).toBe('BAD_BODY');
    expect(code(() => parseRetention({ retentionTimeInMinutes: 'x' }))).toBe('BAD_BODY');
    expect(code(() => parseRetention({ retentionTimeInMinutes: -5, retentionSizeInMB: 1 }))).toBe(
      'INVALID_POLICY',
    );
    expect(code(() => parseRetention({ retentionTimeInMinutes: 0, retentionSizeInMB: 10 }))).toBe(
      'INVALID_POLICY',
    );
    expect(code(() => parseBacklogQuota({ policy: 'drop_everything' }))).toBe('INVALID_POLICY');
    expect(
      code(() =>
        parsePersistence({ bookkeeperEnsemble: 2, bookkeeperWriteQuorum: 3, bookkeeperAckQuorum: 2 }, 16),
      ),
    ).toBe('INVALID_POLICY');
    expect(
      code(() => parseAutoTopicCreation({ allowAutoTopicCreation: true, topicType: 'partitioned' }, 10)),
    ).toBe('INVALID_POLICY');
    expect(policyErrors.specs.BAD_BODY.http).toBe(400);
    expect(policyErrors.specs.INVALID_POLICY.http).toBe(412);
  });
});

describe('policy resolution', () => {
  const d = {
    ...builtinPolicyDefaults(),
    ttlDurationDefaultInSeconds: 30,
    backlogQuotaDefaultLimitBytes: 1000,
  };
  it('falls back to broker defaults', () => {
    const e = resolvePolicies(d, 'c1', emptyPolicies(4));
    expect(e.messageTtlSeconds).toBe(30);
    expect(e.backlogQuotas.destination_storage?.limitSize).toBe(1000);
    expect(e.persistence.bookkeeperEnsemble).toBe(2);
    expect(e.replicationClusters).toEqual(['c1']);
    expect(e.autoTopicCreation).toEqual({ allowAutoTopicCreation: true, topicType: 'non-partitioned' });
  });
  it('namespace overrides defaults and topic overrides namespace', () => {
    const ns = emptyPolicies(4);
    ns.message_ttl_in_seconds = 60;
    ns.deduplicationEnabled = true;
    ns.publishMaxMessageRate.c1 = { publishThrottlingRateInMsg: 5, publishThrottlingRateInByte: -1 };
    ns.publishMaxMessageRate.other = { publishThrottlingRateInMsg: 9, publishThrottlingRateInByte: -1 };
    const e = resolvePolicies(d, 'c1', ns);
    expect(e.messageTtlSeconds).toBe(60);
    expect(e.deduplicationEnabled).toBe(true);
    expect(e.publishRate.publishThrottlingRateInMsg).toBe(5);
    const t = resolvePolicies(d, 'c1', ns, { message_ttl_in_seconds: 7, deduplicationEnabled: false });
    expect(t.messageTtlSeconds).toBe(7);
    expect(t.deduplicationEnabled).toBe(false);
    expect(t.publishRate.publishThrottlingRateInMsg).toBe(5);
  });
});
