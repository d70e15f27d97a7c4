/**
 * Namespace bundles: the 32-bit hash space [0x00000000, 0xffffffff] cut into ranges; a topic
 * belongs to the bundle holding CRC32(full topic name) (internals.md §5.1). Boundaries are hex
 * strings as in Pulsar's BundlesData; a bundle is named "0xLOWER_0xUPPER". The last bundle includes
 * the upper bound, every other one excludes it.
 */
import { crc32 } from '@node-rs/crc32';
import { policyErrors } from './errors.ts';
import type { BundlesData } from './types.ts';

export const FULL_LOWER = 0;
export const FULL_UPPER = 0xffffffff;

export interface BundleRange {
  readonly lower: number;
  readonly upper: number;
  /** "0x00000000_0x3fffffff" */
  readonly name: string;
}

export function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** Pulsar's equal division: each segment is floor(0xffffffff / n), the last ends at 0xffffffff. */
export function fullRangeBoundaries(numBundles: number): string[] {
  if (!Number.isSafeInteger(numBundles) || numBundles < 1) {
    throw policyErrors.make('INVALID_POLICY', { policy: 'bundles', why: 'numBundles must be >= 1' });
  }
  const seg = Math.floor(FULL_UPPER / numBundles);
  const out: string[] = [];
  for (let i = 0; i < numBundles; i++) out.push(hex(FULL_LOWER + seg * i));
  out.push(hex(FULL_UPPER));
  return out;
}

export function parseHex(text: string): number | undefined {
  if (!/^0x[0-9a-fA-F]{1,8}$/.test(text)) return undefined;
  return Number.parseInt(text.slice(2), 16);
}

/** Validate stored or submitted boundaries: strictly increasing, from 0 to 0xffffffff. */
export function checkBoundaries(data: BundlesData): number[] {
  const nums = data.boundaries.map(parseHex);
  const ok =
    nums.length === data.numBundles + 1 &&
    nums.every((n) => n !== undefined) &&
    nums[0] === FULL_LOWER &&
    nums[nums.length - 1] === FULL_UPPER &&
    nums.every((n, i) => i === 0 || (n as number) > (nums[i - 1] as number));
  if (!ok) throw policyErrors.make('INVALID_POLICY', { policy: 'bundles', why: 'bad boundaries' });
  return nums as number[];
}

export function bundleRanges(data: BundlesData): BundleRange[] {
  const nums = checkBoundaries(data);
  const out: BundleRange[] = [];
  for (let i = 0; i + 1 < nums.length; i++) {
    out.push({ lower: nums[i], upper: nums[i + 1], name: `${hex(nums[i])}_${hex(nums[i + 1])}` });
  }
  return out;
}

export function parseBundleName(name: string): { lower: number; upper: number } {
  const parts = name.split('_');
  const lower = parts.length === 2 ? parseHex(parts[0]) : undefined;
  const upper = parts.length === 2 ? parseHex(parts[1]) : undefined;
  if (lower === undefined || upper === undefined || lower >= upper) {
    throw policyErrors.make('INVALID_BUNDLE', { bundle: name });
  }
  return { lower, upper };
}

/** The hash Pulsar uses to place a topic: CRC32 (IEEE) of its full name. */
export function topicHash(fullTopicName: string): number {
  return crc32(fullTopicName) >>> 0;
}

export function bundleForHash(data: BundlesData, hash: number): BundleRange {
  const ranges = bundleRanges(data);
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i];
    const last = i === ranges.length - 1;
    if (hash >= r.lower && (hash < r.upper || (last && hash <= r.upper))) return r;
  }
  throw policyErrors.make('INVALID_POLICY', { policy: 'bundles', why: `no bundle holds hash ${hash}` });
}

export function bundleForTopic(data: BundlesData, fullTopicName: string): BundleRange {
  return bundleForHash(data, topicHash(fullTopicName));
}

/**
 * range_equally_divide: split one bundle into `parts` equal ranges. Returns the new BundlesData
 * and the child ranges. The caller writes it with a CAS on the namespace document.
 */
export function splitBundle(
  data: BundlesData,
  bundleName: string,
  opts: { parts?: number; maxBundles: number; namespace: string },
): { bundles: BundlesData; children: BundleRange[] } {
  const parts = opts.parts ?? 2;
  const { lower, upper } = parseBundleName(bundleName);
  const nums = checkBoundaries(data);
  const i = nums.indexOf(lower);
  if (i < 0 || nums[i + 1] !== upper) {
    throw policyErrors.make('BUNDLE_NOT_FOUND', { bundle: bundleName, namespace: opts.namespace });
  }
  if (data.numBundles - 1 + parts > opts.maxBundles) {
    throw policyErrors.make('TOO_MANY_BUNDLES', { namespace: opts.namespace, max: opts.maxBundles });
  }
  const step = Math.floor((upper - lower) / parts);
  if (step < 1) throw policyErrors.make('BUNDLE_TOO_SMALL', { bundle: bundleName });
  const inner: number[] = [];
  for (let k = 1; k < parts; k++) inner.push(lower + step * k);
  const next = [...nums.slice(0, i + 1), ...inner, ...nums.slice(i + 1)];
  const bundles: BundlesData = { boundaries: next.map(hex), numBundles: next.length - 1 };
  const edges = [lower, ...inner, upper];
  const children: BundleRange[] = [];
  for (let k = 0; k + 1 < edges.length; k++) {
    children.push({ lower: edges[k], upper: edges[k + 1], name: `${hex(edges[k])}_${hex(edges[k + 1])}` });
  }
  return { bundles, children };
}
