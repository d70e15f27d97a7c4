/**
 * Ensemble change planning (internals.md §1.7; BookKeeper LedgerHandle.ensembleChangeLoop).
 * Pure: given the metadata just read, the writer's frozen LAC and the failed bookies, it returns
 * the metadata to write by CAS, or why no change can be made. The driver runs the CAS loop: on
 * BAD_VERSION it re-reads the metadata and plans again.
 *
 * - Only an OPEN ledger (a writer) or an IN_RECOVERY ledger (a recoverer's write-back) may change.
 *   A writer that finds IN_RECOVERY is fenced; anyone that finds CLOSED is closed.
 * - The new fragment starts at LAC + 1. If the last fragment already starts there it is replaced,
 *   otherwise a fragment is appended. A start below the last fragment's is an invalid fragment
 *   (the defect recovery-from-−1 produced, Vanlightly/bookkeeper-tlaplus README, defect 2).
 * - A last fragment starting beyond LAC + 1 was written by someone else: the writer is fenced, a
 *   recoverer must start its pass again.
 * - Each failed member of the last ensemble is swapped for a writable bookie chosen by the
 *   placement policy among bookies not in the ensemble and not known bad.
 */
import type { LedgerFailure } from './add-sequencer.ts';
import { lastSegment, type LedgerMeta, metadataProblem, type Segment } from './metadata.ts';
import type { BookieCandidate, PlacementPolicy } from './placement.ts';

export type EnsembleChangeMode = 'writer' | 'recovery';

export interface EnsembleChangeInput {
  readonly meta: LedgerMeta;
  readonly lastAddConfirmed: number;
  /** Bookies that failed; only those still in the last ensemble are replaced. */
  readonly failed: Iterable<string>;
  /** Writable bookies from the registry. */
  readonly candidates: readonly BookieCandidate[];
  /** Bookies never to pick (failed recently for this handle). */
  readonly exclude: ReadonlySet<string>;
  readonly placement: PlacementPolicy;
  readonly random: () => number;
  readonly mode: EnsembleChangeMode;
}

export type EnsembleChangePlan =
  | { readonly kind: 'update'; readonly meta: LedgerMeta; readonly replaced: ReadonlyMap<string, string> }
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'fail'; readonly failure: LedgerFailure };

export function planEnsembleChange(input: EnsembleChangeInput): EnsembleChangePlan {
  const { meta, mode } = input;
  const ledgerId = meta.ledgerId;
  if (meta.state === 'closed') return fail('LEDGER_CLOSED', { ledgerId });
  if (mode === 'writer' && meta.state !== 'open') return fail('LEDGER_FENCED', { ledgerId });
  if (mode === 'recovery' && meta.state !== 'in-recovery') {
    return fail('RECOVERY_FAILED', { ledgerId, reason: `ledger is ${meta.state} during recovery` });
  }
  const last = lastSegment(meta);
  if (last.firstEntryId > input.lastAddConfirmed + 1) {
    // Someone else started a fragment past entries we still hold: another writer (fenced) or,
    // in recovery, a racing recoverer (start the pass again from the new metadata).
    return mode === 'writer'
      ? fail('LEDGER_FENCED', { ledgerId })
      : fail('RECOVERY_FAILED', { ledgerId, reason: 'another recoverer changed the ensemble' });
  }
  const failedSet = new Set(input.failed);
  const indexes = last.bookieIds.flatMap((id, i) => (failedSet.has(id) ? [i] : []));
  if (indexes.length === 0) return { kind: 'unchanged' };

  const firstEntryId = input.lastAddConfirmed + 1;
  if (firstEntryId < last.firstEntryId) {
    return fail('INVALID_FRAGMENT', { ledgerId, firstEntryId, lastFirstEntryId: last.firstEntryId });
  }
  const labels = new Map(input.candidates.map((c) => [c.id, c.labels]));
  const ensemble = [...last.bookieIds];
  const replaced = new Map<string, string>();
  for (const index of indexes) {
    const pool = input.candidates.filter(
      (c) => !ensemble.includes(c.id) && !input.exclude.has(c.id) && !failedSet.has(c.id),
    );
    const pick = input.placement.replaceBookie(ensemble, index, pool, input.random, (id) => labels.get(id));
    if (pick === undefined) {
      return fail('NOT_ENOUGH_BOOKIES', {
        needed: meta.ensembleSize,
        available: meta.ensembleSize - indexes.length + replaced.size,
      });
    }
    replaced.set(ensemble[index], pick);
    ensemble[index] = pick;
  }
  const fragment: Segment = { bookieIds: ensemble, firstEntryId };
  const segments =
    last.firstEntryId === firstEntryId
      ? [...meta.segments.slice(0, -1), fragment]
      : [...meta.segments, fragment];
  const next: LedgerMeta = { ...meta, segments };
  const problem = metadataProblem(next);
  if (problem) return fail('METADATA_CORRUPT', { ledgerId, reason: problem });
  return { kind: 'update', meta: next, replaced };
}

function fail(code: LedgerFailure['code'], details: Record<string, unknown>): EnsembleChangePlan {
  return { kind: 'fail', failure: { code, details } };
}
