/**
 * Planning bulk reads as stripes (internals.md §1.2 striping; bookie.proto ReadRangeRequest).
 *
 * Within one fragment entry e lives on ensemble indexes (e + i) mod E, i < Qw, so every entry
 * congruent to e mod E has the same write set. A stripe is the entries s, s + P, s + 2P, … up to
 * a last entry, all in one fragment: with E > Qw, P = E and any bookie of s's write set holds the
 * whole stripe, so one striped ReadRange (period E, run 1, position 0) fetches it; with E = Qw
 * every bookie holds every entry and P = 1 (a plain consecutive range).
 *
 * A range of a fragment is cut into chunks of P × maxPerStripe entries, and each chunk into its
 * P residues, so no stripe asks for more than maxPerStripe entries and the P bookies that lead
 * the P write sets share the load.
 */
import { assert } from '../../assert.ts';
import type { Quorum } from './distribution.ts';

export interface Stripe {
  /** First entry. */
  readonly first: number;
  /** Entries first, first + period, … that are <= last belong to the stripe. */
  readonly last: number;
  readonly period: number;
}

/** The stripe period of a fragment: E when a bookie holds only some entries, else 1. */
export function stripePeriod(q: Quorum): number {
  return q.ensembleSize > q.writeQuorum ? q.ensembleSize : 1;
}

/** How many of first, first + period, … are <= last. */
export function stripeLength(first: number, last: number, period: number): number {
  return last < first ? 0 : Math.floor((last - first) / period) + 1;
}

/** The stripes of entries first..last of ONE fragment, in entry order of their first entries. */
export function stripesOf(first: number, last: number, period: number, maxPerStripe: number): Stripe[] {
  assert(first >= 0 && last >= first, 'bad stripe range', { first, last });
  assert(period >= 1 && maxPerStripe >= 1, 'bad stripe shape', { period, maxPerStripe });
  const out: Stripe[] = [];
  const span = period * maxPerStripe;
  for (let chunk = first; chunk <= last; chunk += span) {
    const chunkLast = Math.min(last, chunk + span - 1);
    for (let s = chunk; s < chunk + period && s <= chunkLast; s++)
      out.push({ first: s, last: chunkLast, period });
  }
  return out;
}
