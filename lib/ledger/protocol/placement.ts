/**
 * Ensemble placement (internals.md §3, placement policies). A policy picks the bookies of a new
 * ensemble, or one replacement during an ensemble change, from the writable bookies it is given.
 * Policies are pure: randomness comes in as a function so the simulation can seed it.
 *
 * The default spreads across failure domains: it takes the `zone` and `rack` labels of each
 * bookie's registration and, position by position, prefers the bookie whose zone (then rack) is
 * least used by the bookies already chosen, breaking ties at random. Consecutive positions of the
 * ensemble share write sets, so spreading the ensemble spreads every write set.
 */
export interface BookieCandidate {
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PlacementPolicy {
  /** `size` distinct bookies in ensemble order, or undefined if there are not enough. */
  newEnsemble(
    size: number,
    candidates: readonly BookieCandidate[],
    random: () => number,
  ): string[] | undefined;
  /**
   * A bookie for position `index` of `ensemble` (whose current holder failed), chosen among
   * `candidates` (which already exclude every member of the ensemble and known-bad bookies).
   */
  replaceBookie(
    ensemble: readonly string[],
    index: number,
    candidates: readonly BookieCandidate[],
    random: () => number,
    labelsOf: (id: string) => Readonly<Record<string, string>> | undefined,
  ): string | undefined;
}

interface Domain {
  readonly zone: string;
  readonly rack: string;
}

function domainOf(labels: Readonly<Record<string, string>> | undefined): Domain {
  return { zone: labels?.zone ?? '', rack: labels?.rack ?? '' };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Index of the candidate whose zone, then rack, is least represented in `chosen`. */
function leastRepresented(candidates: readonly BookieCandidate[], chosen: readonly Domain[]): number {
  const zoneCount = new Map<string, number>();
  const rackCount = new Map<string, number>();
  for (const d of chosen) {
    zoneCount.set(d.zone, (zoneCount.get(d.zone) ?? 0) + 1);
    rackCount.set(`${d.zone}/${d.rack}`, (rackCount.get(`${d.zone}/${d.rack}`) ?? 0) + 1);
  }
  let best = -1;
  let bestScore = Number.POSITIVE_INFINITY;
  candidates.forEach((c, i) => {
    const d = domainOf(c.labels);
    const score = (zoneCount.get(d.zone) ?? 0) * 1_000_000 + (rackCount.get(`${d.zone}/${d.rack}`) ?? 0);
    if (score < bestScore) {
      bestScore = score;
      best = i;
    }
  });
  return best;
}

export const spreadPlacement: PlacementPolicy = {
  newEnsemble(size, candidates, random) {
    const unique = dedupe(candidates);
    if (unique.length < size) return undefined;
    const pool = shuffled(unique, random);
    const chosen: BookieCandidate[] = [];
    while (chosen.length < size) {
      const i = leastRepresented(
        pool,
        chosen.map((c) => domainOf(c.labels)),
      );
      chosen.push(pool[i]);
      pool.splice(i, 1);
    }
    return chosen.map((c) => c.id);
  },

  replaceBookie(ensemble, index, candidates, random, labelsOf) {
    const pool = shuffled(
      dedupe(candidates).filter((c) => !ensemble.includes(c.id)),
      random,
    );
    if (pool.length === 0) return undefined;
    const others = ensemble.filter((_, i) => i !== index).map((id) => domainOf(labelsOf(id)));
    return pool[leastRepresented(pool, others)].id;
  },
};

/** Random choice, ignoring labels (tests, and clusters without topology labels). */
export const randomPlacement: PlacementPolicy = {
  newEnsemble(size, candidates, random) {
    const unique = dedupe(candidates);
    return unique.length < size
      ? undefined
      : shuffled(unique, random)
          .slice(0, size)
          .map((c) => c.id);
  },
  replaceBookie(ensemble, _index, candidates, random) {
    const pool = dedupe(candidates).filter((c) => !ensemble.includes(c.id));
    return pool.length === 0 ? undefined : pool[Math.floor(random() * pool.length)].id;
  },
};

function dedupe(candidates: readonly BookieCandidate[]): BookieCandidate[] {
  const seen = new Set<string>();
  const out: BookieCandidate[] = [];
  // Sorted first so the result depends only on the set of candidates and the random stream.
  for (const c of [...candidates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (!seen.has(c.id)) {
      seen.add(c.id);
      out.push(c);
    }
  }
  return out;
}
