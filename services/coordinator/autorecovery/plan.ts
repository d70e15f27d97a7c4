/**
 * Autorecovery decisions, pure (internals.md §3). Given a ledger's metadata and which bookies are
 * usable, say which fragments lack a replica and what to do about each:
 *
 * - a fragment is the entry range of one segment: [first, next segment's first − 1], or up to the
 *   last entry for the last segment of a closed ledger. Empty fragments need nothing.
 * - a sealed fragment (closed ledger, or any segment but the last) is copied: the missing ensemble
 *   index gets a target bookie that is writable and not already in that segment.
 * - the last fragment of a ledger still open (or in recovery) is not sealed: its writer may still
 *   add to it. It gets `openGraceMs` from when the ledger was marked for its writer to change
 *   ensemble itself; after that the ledger must be fenced (recovered and closed) first, so the
 *   writer can never add to the fragment being repaired.
 */
import { crc32 } from 'node:zlib';
import type { LedgerMeta } from '../../../lib/ledger/protocol/metadata.ts';

export interface BookieAvailability {
  /** Registered now (writable or read-only): its data can be read. */
  readonly registered: (bookieId: string) => boolean;
  /** Marked decommissioned: its data must be copied away (it may still serve reads). */
  readonly decommissioned: (bookieId: string) => boolean;
  /** Bookies that may receive copies: registered, writable, not decommissioned. */
  readonly writable: readonly string[];
  /** Registered bookies that have been missing no longer than the recovery delay (not lost yet). */
  readonly recentlyGone?: (bookieId: string) => boolean;
}

/** A bookie whose replicas count as missing: gone (past the delay) or decommissioned. */
export function isMissing(id: string, a: BookieAvailability): boolean {
  if (a.decommissioned(id)) return true;
  return !a.registered(id) && !(a.recentlyGone?.(id) ?? false);
}

export interface FragmentRange {
  readonly segmentIndex: number;
  readonly first: number;
  /** Inclusive last entry; undefined while the fragment is open. */
  readonly last: number | undefined;
}

export function fragmentRanges(meta: LedgerMeta): FragmentRange[] {
  return meta.segments.map((s, i) => {
    const next = meta.segments[i + 1];
    if (next) return { segmentIndex: i, first: s.firstEntryId, last: next.firstEntryId - 1 };
    return {
      segmentIndex: i,
      first: s.firstEntryId,
      last: meta.state === 'closed' ? meta.lastEntryId : undefined,
    };
  });
}

/** Missing bookies of the ledger's non-empty fragments. */
export function missingBookies(meta: LedgerMeta, a: BookieAvailability): string[] {
  const out = new Set<string>();
  for (const f of fragmentRanges(meta)) {
    if (f.last !== undefined && f.last < f.first) continue;
    for (const b of meta.segments[f.segmentIndex].bookieIds) if (isMissing(b, a)) out.add(b);
  }
  return [...out].sort();
}

export type FragmentAction =
  | {
      readonly kind: 'copy';
      readonly segmentIndex: number;
      readonly replaceIndex: number;
      readonly replaced: string;
      readonly target: string;
      readonly first: number;
      readonly last: number;
    }
  | { readonly kind: 'wait-open'; readonly segmentIndex: number; readonly untilMs: number }
  | { readonly kind: 'fence'; readonly segmentIndex: number }
  | { readonly kind: 'no-target'; readonly segmentIndex: number; readonly replaced: string };

export interface PlanContext extends BookieAvailability {
  readonly markedAtMs: number;
  readonly nowMs: number;
  readonly openGraceMs: number;
}

export function planLedger(meta: LedgerMeta, ctx: PlanContext): FragmentAction[] {
  const actions: FragmentAction[] = [];
  const uses = new Map<string, number>();
  for (const f of fragmentRanges(meta)) {
    if (f.last !== undefined && f.last < f.first) continue;
    const ensemble = meta.segments[f.segmentIndex].bookieIds;
    const missing = ensemble.map((b, i) => [b, i] as const).filter(([b]) => isMissing(b, ctx));
    if (missing.length === 0) continue;
    if (f.last === undefined) {
      const untilMs = ctx.markedAtMs + ctx.openGraceMs;
      actions.push(
        ctx.nowMs < untilMs
          ? { kind: 'wait-open', segmentIndex: f.segmentIndex, untilMs }
          : { kind: 'fence', segmentIndex: f.segmentIndex },
      );
      continue;
    }
    const taken = new Set(ensemble);
    for (const [replaced, replaceIndex] of missing) {
      const target = chooseTarget(
        ctx.writable,
        taken,
        uses,
        `${meta.ledgerId}/${f.segmentIndex}/${replaceIndex}`,
      );
      if (!target) {
        actions.push({ kind: 'no-target', segmentIndex: f.segmentIndex, replaced });
        continue;
      }
      taken.add(target);
      uses.set(target, (uses.get(target) ?? 0) + 1);
      actions.push({
        kind: 'copy',
        segmentIndex: f.segmentIndex,
        replaceIndex,
        replaced,
        target,
        first: f.first,
        last: f.last,
      });
    }
  }
  return actions;
}

/** The least used eligible bookie; ties broken by a stable hash so copies spread over bookies. */
function chooseTarget(
  writable: readonly string[],
  taken: ReadonlySet<string>,
  uses: ReadonlyMap<string, number>,
  salt: string,
): string | undefined {
  const eligible = writable.filter((b) => !taken.has(b));
  if (eligible.length === 0) return undefined;
  const h = (b: string) => crc32(`${salt}|${b}`) >>> 0;
  return eligible.sort(
    (x, y) => (uses.get(x) ?? 0) - (uses.get(y) ?? 0) || h(x) - h(y) || (x < y ? -1 : 1),
  )[0];
}

/** The metadata after replacing `replaced` at `replaceIndex` of segment `segmentIndex` by `target`. */
export function withReplacement(
  meta: LedgerMeta,
  a: Extract<FragmentAction, { kind: 'copy' }>,
): LedgerMeta | undefined {
  const seg = meta.segments[a.segmentIndex];
  if (!seg || seg.bookieIds[a.replaceIndex] !== a.replaced || seg.firstEntryId !== a.first) return undefined;
  const range = fragmentRanges(meta)[a.segmentIndex];
  if (range.last !== a.last) return undefined; // the fragment is not the one that was copied
  const bookieIds = [...seg.bookieIds];
  bookieIds[a.replaceIndex] = a.target;
  return { ...meta, segments: meta.segments.map((s, i) => (i === a.segmentIndex ? { ...s, bookieIds } : s)) };
}
