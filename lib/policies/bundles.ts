/**
 * Namespace bundles as the namespace document carries them (Pulsar's BundlesData: hex boundary
 * strings). The hash-range arithmetic (CRC-32 placement, Pulsar's equal division, split
 * algorithms) is lib/cluster/bundle-range.ts; this file converts to and from the JSON form.
 * After a split the cluster-local boundaries (lib/cluster, `local-policies`) take precedence over
 * the document's initial ones, as in Pulsar.
 */
import {
  applySplit,
  boundariesProblem,
  equalBoundaries,
  findRange,
  formatBoundary,
  formatRange,
  isRangeOf,
  parseRange,
  rangesOf,
  type SplitRequest,
  splitPoints,
  topicHash,
} from '../cluster/bundle-range.ts';
import { policyErrors } from './errors.ts';
import type { BundlesData } from './types.ts';

export { topicHash };

export interface NamedRange {
  readonly lower: number;
  readonly upper: number;
  /** "0x00000000_0x40000000" */
  readonly name: string;
}

const named = (r: { lower: number; upper: number }): NamedRange => ({ ...r, name: formatRange(r) });

export function fullRangeBoundaries(numBundles: number): string[] {
  if (!Number.isSafeInteger(numBundles) || numBundles < 1) {
    throw policyErrors.make('INVALID_POLICY', { policy: 'bundles', why: 'numBundles must be >= 1' });
  }
  return equalBoundaries(numBundles).map(formatBoundary);
}

export function toBundlesData(boundaries: readonly number[]): BundlesData {
  return { boundaries: boundaries.map(formatBoundary), numBundles: boundaries.length - 1 };
}

/** Numeric boundaries of a BundlesData; INVALID_POLICY when they do not cover the hash space. */
export function checkBoundaries(data: BundlesData): number[] {
  const nums = data.boundaries.map((b) =>
    /^0x[0-9a-fA-F]{1,8}$/.test(b) ? Number.parseInt(b.slice(2), 16) : Number.NaN,
  );
  const problem =
    boundariesProblem(nums) ?? (nums.length !== data.numBundles + 1 ? 'numBundles mismatch' : undefined);
  if (problem) throw policyErrors.make('INVALID_POLICY', { policy: 'bundles', why: problem });
  return nums;
}

export function bundleRanges(data: BundlesData): NamedRange[] {
  return rangesOf(checkBoundaries(data)).map(named);
}

export function bundleForHash(data: BundlesData, hash: number): NamedRange {
  return named(findRange(checkBoundaries(data), hash));
}

export function bundleForTopic(data: BundlesData, fullTopicName: string): NamedRange {
  return bundleForHash(data, topicHash(fullTopicName));
}

/** Parse a bundle name and check it is one of the namespace's bundles (BUNDLE_NOT_FOUND). */
export function findBundle(data: BundlesData, bundleName: string, namespace: string): NamedRange {
  const r = parseRange(bundleName);
  if (!isRangeOf(checkBoundaries(data), r)) {
    throw policyErrors.make('BUNDLE_NOT_FOUND', { bundle: bundleName, namespace });
  }
  return named(r);
}

/** Split one bundle; returns the new BundlesData and the children. */
export function splitBundle(
  data: BundlesData,
  bundleName: string,
  opts: { maxBundles: number; namespace: string; request?: SplitRequest },
): { bundles: BundlesData; children: NamedRange[] } {
  const r = findBundle(data, bundleName, opts.namespace);
  const points = splitPoints(r, opts.request ?? { algorithm: 'range_equally_divide' });
  if (data.numBundles + points.length > opts.maxBundles) {
    throw policyErrors.make('TOO_MANY_BUNDLES', { namespace: opts.namespace, max: opts.maxBundles });
  }
  const next = applySplit(checkBoundaries(data), r, points);
  const edges = [r.lower, ...points, r.upper];
  const children: NamedRange[] = [];
  for (let k = 0; k + 1 < edges.length; k++) children.push(named({ lower: edges[k], upper: edges[k + 1] }));
  return { bundles: toBundlesData(next), children };
}

/**
 * lib/cluster's `InitialBoundaries` source: the boundaries a namespace was created with (its
 * document's `bundles`), so a namespace created with N bundles starts with N. Undefined when the
 * namespace does not exist.
 */
export function initialBoundariesFromPolicies(store: {
  getPolicies(ns: { tenant: string; namespace: string }): Promise<{ bundles: BundlesData } | undefined>;
}): (tenant: string, namespace: string) => Promise<readonly number[] | undefined> {
  return async (tenant, namespace) => {
    const p = await store.getPolicies({ tenant, namespace });
    return p ? checkBoundaries(p.bundles) : undefined;
  };
}
