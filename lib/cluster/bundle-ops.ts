/**
 * Unload and split as operations on the ownership records, shared by the admin API hooks (any
 * broker) and the coordinator (shedding, auto split). The bundle's owner does the actual closing
 * when it sees its bundle Releasing (OwnershipService); these functions only move the records and
 * wait, bounded, for the result.
 */
import type { BundleActions } from './actions.ts';
import { type BundleRange, formatRange, isRangeOf, type SplitRequest, splitPoints } from './bundle-range.ts';
import { ClusterErrors } from './errors.ts';
import { BundleStates, ownerBound } from './ownership-state.ts';
import { type BundleId, bundleName } from './ownership-store.ts';

export interface UnloadOptions {
  /** Where the bundle should go ('' or undefined: free; the next lookup or the coordinator places it). */
  readonly destination?: string;
  readonly reason: string;
  /** Stamp the move time (shedding grace period). */
  readonly move: boolean;
}

export type UnloadOutcome = 'released' | 'not-owned';

/** Ask the owner to release `id` (Owned → Releasing). Free bundles need nothing: 'not-owned'. */
export async function requestUnload(
  actions: BundleActions,
  id: BundleId,
  opts: UnloadOptions,
): Promise<UnloadOutcome> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const s = await actions.fresh(id);
    const r = s.record;
    if (!r || r.state === BundleStates.Free) return 'not-owned';
    if (r.state === BundleStates.Releasing) return 'released';
    if (r.state !== BundleStates.Owned || !ownerBound(r, s.ownerKey)) {
      throw ClusterErrors.make('BUNDLE_IN_TRANSITION', { bundle: bundleName(id), state: r.state });
    }
    const destination = opts.destination && opts.destination !== r.owner ? opts.destination : '';
    if (destination && !actions.view.isRegistered(destination)) {
      throw ClusterErrors.make('NO_BROKERS', {
        bundle: `${bundleName(id)} (destination ${destination} is not registered)`,
      });
    }
    const res = await actions.release(id, s, destination, opts.reason, opts.move);
    if (res.ok) return 'released';
  }
  throw ClusterErrors.make('TRANSITION_REJECTED', {
    bundle: bundleName(id),
    transition: 'release',
    state: 'owned',
    why: 'lost the race five times',
  });
}

/** Wait until the bundle is no longer Releasing/Splitting (bounded); true when it settled. */
export async function waitSettled(actions: BundleActions, id: BundleId, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await actions.current(id);
    const state = s.record?.state;
    if (state !== BundleStates.Releasing && state !== BundleStates.Splitting) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
  }
}

export interface SplitResult {
  readonly boundaries: number[];
  readonly children: BundleRange[];
}

/**
 * Split `id` at the points `req` gives. An owned bundle goes Owned → Splitting → (children assigned
 * back to the owner) in two transactions; a bundle nobody holds just gets new boundaries.
 */
export async function splitBundle(
  actions: BundleActions,
  id: BundleId,
  req: SplitRequest,
  maxBundlesPerNamespace: number,
): Promise<SplitResult> {
  const { os } = actions;
  let started: number[] | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const boundaries = await os.readBoundaries(id.tenant, id.namespace);
    // Our split was finished by someone else (e.g. the coordinator's sweep) after a lost race.
    if (
      boundaries &&
      started?.every((p) => boundaries.value.includes(p)) &&
      !isRangeOf(boundaries.value, id.range)
    ) {
      return { boundaries: boundaries.value, children: childRanges(id.range, started) };
    }
    if (!boundaries || !isRangeOf(boundaries.value, id.range)) {
      throw ClusterErrors.make('BUNDLE_NOT_FOUND', {
        bundle: formatRange(id.range),
        namespace: `${id.tenant}/${id.namespace}`,
        boundaries: boundaries ? boundaries.value.length - 1 : 'none',
      });
    }
    const points = splitPoints(id.range, req);
    const count = boundaries.value.length - 1 + points.length;
    if (count > maxBundlesPerNamespace) {
      throw ClusterErrors.make('TOO_MANY_BUNDLES', {
        namespace: `${id.tenant}/${id.namespace}`,
        count: count - points.length,
        max: maxBundlesPerNamespace,
      });
    }
    const children = childRanges(id.range, points);
    const s = await actions.fresh(id);
    const r = s.record;
    if (!r || r.state === BundleStates.Free) {
      const res = await os.splitUnowned(id, s, boundaries, points);
      if (res.ok) return { boundaries: (await os.readBoundaries(id.tenant, id.namespace))!.value, children };
      continue;
    }
    if (r.state === BundleStates.Splitting) {
      await actions.finishSplit(id);
      continue;
    }
    if (r.state !== BundleStates.Owned || !ownerBound(r, s.ownerKey)) {
      throw ClusterErrors.make('BUNDLE_IN_TRANSITION', { bundle: bundleName(id), state: r.state });
    }
    const begun = await actions.split(id, s, points);
    if (!begun.ok) continue;
    started = points;
    const done = await actions.finishSplit(id);
    if (done.ok) return { boundaries: (await os.readBoundaries(id.tenant, id.namespace))!.value, children };
  }
  throw ClusterErrors.make('TRANSITION_REJECTED', {
    bundle: bundleName(id),
    transition: 'split',
    state: 'owned',
    why: 'lost the race five times',
  });
}

function childRanges(parent: BundleRange, points: readonly number[]): BundleRange[] {
  const cuts = [parent.lower, ...points, parent.upper];
  return cuts.slice(0, -1).map((lower, i) => ({ lower, upper: cuts[i + 1] }));
}
