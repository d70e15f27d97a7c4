/**
 * Namespace bundles: a namespace's 32-bit hash space cut into contiguous ranges by a sorted list
 * of boundaries `[0x00000000, b1, ..., 0xffffffff]` (internals.md §5.1). A topic belongs to the
 * bundle its name hashes into, with Pulsar's hash: CRC-32 (IEEE, Guava `Hashing.crc32()`) of the
 * full topic name in UTF-8, read as an unsigned 32-bit number. Every range is [lower, upper) except
 * the last, which includes 0xffffffff. Bundle names are Pulsar's `0x%08x_0x%08x`.
 * Pure functions only.
 */
import { crc32 } from 'node:zlib';
import { ClusterErrors } from './errors.ts';

export const FULL_LOWER = 0x00000000;
export const FULL_UPPER = 0xffffffff;
/** Pulsar's loadBalancerNamespaceMaximumBundles ceiling for any namespace. */
export const ABSOLUTE_MAX_BUNDLES = 4096;

export interface BundleRange {
  readonly lower: number;
  readonly upper: number;
}

/** Pulsar's topic → hash: CRC-32 of the full name. */
export function topicHash(fullTopicName: string): number {
  return crc32(Buffer.from(fullTopicName, 'utf8')) >>> 0;
}

const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

export function formatBoundary(n: number): string {
  return hex8(n);
}

export function formatRange(r: BundleRange): string {
  return `${hex8(r.lower)}_${hex8(r.upper)}`;
}

function parseBoundary(text: string): number | undefined {
  if (!/^0x[0-9a-fA-F]{1,8}$/.test(text)) return undefined;
  return Number.parseInt(text.slice(2), 16);
}

/** Parse `0xLLLLLLLL_0xUUUUUUUU`; throws INVALID_BUNDLE. */
export function parseRange(text: string): BundleRange {
  const bad = (why: string) => ClusterErrors.make('INVALID_BUNDLE', { bundle: text, why });
  const parts = typeof text === 'string' ? text.split('_') : [];
  if (parts.length !== 2) throw bad('expected 0xLOWER_0xUPPER');
  const lower = parseBoundary(parts[0]);
  const upper = parseBoundary(parts[1]);
  if (lower === undefined || upper === undefined) throw bad('boundaries must be hex 0x00000000..0xffffffff');
  if (lower >= upper) throw bad('lower must be below upper');
  return { lower, upper };
}

export function rangeContains(r: BundleRange, hash: number): boolean {
  return hash >= r.lower && (r.upper === FULL_UPPER ? hash <= r.upper : hash < r.upper);
}

export function sameRange(a: BundleRange, b: BundleRange): boolean {
  return a.lower === b.lower && a.upper === b.upper;
}

/** Pulsar's equal division of the full range into n bundles (NamespacesBase.getBundles). */
export function equalBoundaries(n: number): number[] {
  if (!Number.isInteger(n) || n < 1 || n > ABSOLUTE_MAX_BUNDLES) {
    throw ClusterErrors.make('INVALID_BUNDLE', {
      bundle: `${n} bundles`,
      why: `count must be 1..${ABSOLUTE_MAX_BUNDLES}`,
    });
  }
  const step = Math.floor(2 ** 32 / n);
  const out = [FULL_LOWER];
  for (let i = 1; i < n; i++) out.push(step * i);
  out.push(FULL_UPPER);
  return out;
}

/** Why a boundary list is unusable, or undefined when it is a valid cover of the hash space. */
export function boundariesProblem(b: readonly number[]): string | undefined {
  if (b.length < 2) return 'fewer than two boundaries';
  if (b.length - 1 > ABSOLUTE_MAX_BUNDLES) return `more than ${ABSOLUTE_MAX_BUNDLES} bundles`;
  if (b[0] !== FULL_LOWER) return 'does not start at 0x00000000';
  if (b[b.length - 1] !== FULL_UPPER) return 'does not end at 0xffffffff';
  for (let i = 0; i < b.length; i++) {
    if (!Number.isInteger(b[i]) || b[i] < FULL_LOWER || b[i] > FULL_UPPER)
      return `boundary ${i} out of range`;
    if (i > 0 && b[i] <= b[i - 1]) return `boundary ${i} not above the previous one`;
  }
  return undefined;
}

export function rangesOf(boundaries: readonly number[]): BundleRange[] {
  const out: BundleRange[] = [];
  for (let i = 0; i + 1 < boundaries.length; i++)
    out.push({ lower: boundaries[i], upper: boundaries[i + 1] });
  return out;
}

/** The range of `boundaries` holding `hash` (binary search). */
export function findRange(boundaries: readonly number[], hash: number): BundleRange {
  let lo = 0;
  let hi = boundaries.length - 2; // index of the last range
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (boundaries[mid] <= hash) lo = mid;
    else hi = mid - 1;
  }
  return { lower: boundaries[lo], upper: boundaries[lo + 1] };
}

/** True when `r` is exactly one range of `boundaries`. */
export function isRangeOf(boundaries: readonly number[], r: BundleRange): boolean {
  const i = boundaries.indexOf(r.lower);
  return i >= 0 && i + 1 < boundaries.length && boundaries[i + 1] === r.upper;
}

export function canSplit(r: BundleRange): boolean {
  return r.upper - r.lower > 1;
}

export const SplitAlgorithms = [
  'range_equally_divide',
  'topic_count_equally_divide',
  'specified_positions_divide',
] as const;
export type SplitAlgorithm = (typeof SplitAlgorithms)[number];

export interface SplitRequest {
  readonly algorithm: SplitAlgorithm;
  /** specified_positions_divide: cut points strictly inside the range. */
  readonly positions?: readonly number[];
  /** topic_count_equally_divide: hashes of the bundle's topics. */
  readonly topicHashes?: readonly number[];
}

/**
 * The cut points strictly inside `r` for a split (Pulsar's split algorithms). The children are
 * [r.lower, c1), [c1, c2) … [ck, r.upper). Throws BUNDLE_NOT_SPLITTABLE.
 */
export function splitPoints(r: BundleRange, req: SplitRequest): number[] {
  const name = formatRange(r);
  const refuse = (why: string) => ClusterErrors.make('BUNDLE_NOT_SPLITTABLE', { bundle: name, why });
  if (!canSplit(r)) throw refuse('its range holds a single hash value');
  let points: number[];
  switch (req.algorithm) {
    case 'range_equally_divide':
      points = [r.lower + Math.floor((r.upper - r.lower) / 2)];
      break;
    case 'specified_positions_divide':
      points = [...new Set(req.positions ?? [])].sort((a, b) => a - b);
      if (points.length === 0) throw refuse('no split positions given');
      break;
    case 'topic_count_equally_divide': {
      const hashes = [...(req.topicHashes ?? [])].filter((h) => rangeContains(r, h)).sort((a, b) => a - b);
      if (hashes.length < 2) throw refuse('fewer than two topics to divide');
      // Cut just above the median topic: both halves get (about) half of the topics.
      const median = hashes[(hashes.length >> 1) - 1];
      const next = hashes[hashes.length >> 1];
      if (median === next) throw refuse('the topics share one hash value');
      points = [median + 1];
      break;
    }
    default:
      throw refuse(`unknown algorithm ${String((req as SplitRequest).algorithm)}`);
  }
  for (const p of points) {
    if (!Number.isInteger(p) || p <= r.lower || p >= r.upper) {
      throw refuse(`split position ${formatBoundary(p)} is not strictly inside the range`);
    }
  }
  return points;
}

/** `boundaries` with `r` cut at `points` (r must be one of its ranges). */
export function applySplit(
  boundaries: readonly number[],
  r: BundleRange,
  points: readonly number[],
): number[] {
  const i = boundaries.indexOf(r.lower);
  return [...boundaries.slice(0, i + 1), ...points, ...boundaries.slice(i + 1)];
}
