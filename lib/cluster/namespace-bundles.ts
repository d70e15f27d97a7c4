/**
 * A namespace's bundle boundaries, stored once per namespace (keys.localPolicies) and created on
 * first use with `defaultNumberOfNamespaceBundles` equal ranges (create-if-absent, so every broker
 * agrees on them). Only a split changes them, in the same transaction that replaces the parent
 * bundle's record by its children; so the cache is dropped whenever a bundle record of the
 * namespace disappears, and any record created from cached boundaries re-checks their version.
 */
import { MetadataErrors } from '../metadata/errors.ts';
import { boundariesProblem, equalBoundaries, rangesOf } from './bundle-range.ts';
import { encodeBoundaries } from './codec.ts';
import { ClusterErrors } from './errors.ts';
import type { OwnershipStore } from './ownership-store.ts';

export interface StoredBoundaries {
  readonly value: readonly number[];
  readonly version: number;
}

/** The boundaries a namespace starts with (e.g. from its policies document), if it names any. */
export type InitialBoundaries = (tenant: string, namespace: string) => Promise<readonly number[] | undefined>;

export class BoundariesCache {
  readonly #os: OwnershipStore;
  readonly #defaultCount: number;
  readonly #initial: InitialBoundaries | undefined;
  readonly #max: number;
  readonly #cache = new Map<string, StoredBoundaries>();

  constructor(os: OwnershipStore, defaultCount: number, maxNamespaces: number, initial?: InitialBoundaries) {
    this.#os = os;
    this.#defaultCount = defaultCount;
    this.#initial = initial;
    this.#max = maxNamespaces;
  }

  /** The boundaries of `tenant/namespace`, creating the default ones if none are stored. */
  async get(tenant: string, namespace: string): Promise<StoredBoundaries> {
    const name = `${tenant}/${namespace}`;
    const hit = this.#cache.get(name);
    if (hit) {
      this.#cache.delete(name);
      this.#cache.set(name, hit);
      return hit;
    }
    const stored = await ensureBoundaries(this.#os, tenant, namespace, async () => {
      const first = await this.#initial?.(tenant, namespace);
      return first && boundariesProblem(first) === undefined ? first : equalBoundaries(this.#defaultCount);
    });
    this.#cache.set(name, stored);
    while (this.#cache.size > this.#max) this.#cache.delete(this.#cache.keys().next().value!);
    return stored;
  }

  invalidate(tenant: string, namespace: string): void {
    this.#cache.delete(`${tenant}/${namespace}`);
  }

  clear(): void {
    this.#cache.clear();
  }
}

/** Read the boundaries, or store `initial()` if none exist yet (create-if-absent). */
export async function ensureBoundaries(
  os: OwnershipStore,
  tenant: string,
  namespace: string,
  initial: () => Promise<readonly number[]>,
): Promise<StoredBoundaries> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const cur = await os.readBoundaries(tenant, namespace);
    if (cur) return cur;
    const value = await initial();
    try {
      const version = await os.store.put(os.boundariesKey(tenant, namespace), encodeBoundaries(value), {
        expectedVersion: 'absent',
      });
      return { value, version };
    } catch (err) {
      if (!MetadataErrors.is(err, 'KEY_EXISTS')) throw err;
    }
  }
  throw ClusterErrors.make('METADATA_UNAVAILABLE', { operation: `create bundles of ${tenant}/${namespace}` });
}

/**
 * Admin hook for namespace creation: store `numBundles` equal bundles, or the given boundaries
 * (Pulsar's BundlesData). Fails with INVALID_BUNDLE on bad boundaries; a namespace that already
 * has boundaries keeps them (returns false).
 */
export async function initNamespaceBundles(
  os: OwnershipStore,
  tenant: string,
  namespace: string,
  spec: { numBundles: number } | { boundaries: readonly number[] },
): Promise<boolean> {
  const boundaries = 'numBundles' in spec ? equalBoundaries(spec.numBundles) : [...spec.boundaries];
  const problem = boundariesProblem(boundaries);
  if (problem) throw ClusterErrors.make('INVALID_BUNDLE', { bundle: `${tenant}/${namespace}`, why: problem });
  try {
    await os.store.put(os.boundariesKey(tenant, namespace), encodeBoundaries(boundaries), {
      expectedVersion: 'absent',
    });
    return true;
  } catch (err) {
    if (MetadataErrors.is(err, 'KEY_EXISTS')) return false;
    throw err;
  }
}

/**
 * Admin hook for namespace deletion: remove the boundaries and every bundle state record. Owner
 * keys of live brokers are removed too, which makes those brokers drop the bundles.
 */
export async function deleteNamespaceBundles(
  os: OwnershipStore,
  tenant: string,
  namespace: string,
): Promise<void> {
  const boundaries = await os.readBoundaries(tenant, namespace);
  if (!boundaries) return;
  for (const range of rangesOf(boundaries.value)) {
    const id = { tenant, namespace, range };
    await os.store.delete(os.recordKey(id));
    await os.store.delete(os.ownerKeyOf(id));
  }
  await os.store.delete(os.boundariesKey(tenant, namespace));
}
