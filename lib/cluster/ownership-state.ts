/**
 * The bundle ownership state machine (internals.md §5.4, PIP-192's metadata-store table), pure.
 *
 *   Free ──assign──▶ Assigning ──claim──▶ Owned ──release──▶ Releasing ──finish-release──▶ Assigning | Free
 *                                           └──split──▶ Splitting ──finish-split──▶ (deleted; children appear)
 *   orphan clean-up (`free`): Owned | Releasing whose owner key is gone, Assigning whose destination
 *   broker is not registered ──▶ Free.
 *
 * Storage (done by the driver, ownership-store.ts): one persistent state record per bundle, and an
 * owner key bound to the owning broker's session, written and deleted in the same transaction as
 * the record. Every transition is planned here from a snapshot (record + owner key + liveness) and
 * carries the conditions the driver must check atomically: the record's version (CAS) plus the
 * owner key's presence/version and, for orphan clean-up, the absence of a broker registration.
 * An absent record means Free. Nothing here trusts a lease alone: the new owner still fences the
 * previous owner's ledgers when it loads a topic.
 */

export const BundleStates = {
  Free: 'free',
  Assigning: 'assigning',
  Owned: 'owned',
  Releasing: 'releasing',
  Splitting: 'splitting',
} as const;
export type BundleState = (typeof BundleStates)[keyof typeof BundleStates];

export interface BundleRecord {
  readonly state: BundleState;
  /** owned / releasing / splitting: the broker holding the bundle; else ''. */
  readonly owner: string;
  /** owner's session id while bound; else ''. */
  readonly ownerSession: string;
  /** assigning: the broker that must claim it; releasing: where it goes next ('' = free). */
  readonly destination: string;
  /** Ownership term: incremented by every claim, never decreases. */
  readonly epoch: number;
  /** The owner before the latest release or clean-up (placement avoids it when it can). */
  readonly previousOwner: string;
  /** Last time an unload or load shedding moved the bundle (shedding grace period). 0 = never. */
  readonly movedAtMs: number;
  readonly changedAtMs: number;
  readonly changedBy: string;
  readonly reason: string;
  /** splitting: cut points strictly inside the range. */
  readonly splitPoints: readonly number[];
}

/** Value of the session-bound owner key. */
export interface OwnerKey {
  readonly broker: string;
  readonly epoch: number;
  readonly sessionId: string;
}

export type Transition =
  | { readonly kind: 'assign'; readonly destination: string; readonly by: string; readonly reason: string }
  | { readonly kind: 'claim'; readonly broker: string; readonly sessionId: string }
  | {
      readonly kind: 'release';
      readonly by: string;
      readonly destination: string;
      readonly reason: string;
      /** unload / shedding: stamp movedAtMs so shedding leaves the bundle alone for a while. */
      readonly move: boolean;
    }
  | { readonly kind: 'finish-release'; readonly broker: string }
  | { readonly kind: 'split'; readonly by: string; readonly points: readonly number[] }
  | { readonly kind: 'finish-split'; readonly by: string }
  | { readonly kind: 'free'; readonly by: string; readonly reason: string };
export type TransitionKind = Transition['kind'];

/** What the planner knows when it plans (read from the store, then checked again atomically). */
export interface Snapshot {
  readonly record: BundleRecord | undefined;
  readonly ownerKey: OwnerKey | undefined;
  /** Is this broker registered (session alive) right now? */
  readonly registered: (brokerId: string) => boolean;
  readonly nowMs: number;
}

/** A condition the driver adds to the transaction (besides the CAS on the record itself). */
export type Condition =
  | { readonly on: 'owner-key'; readonly expect: 'absent' }
  | { readonly on: 'owner-key'; readonly expect: 'unchanged' }
  | { readonly on: 'registration'; readonly broker: string; readonly expect: 'absent' };

export type OwnerKeyAction =
  | { readonly action: 'keep' }
  | { readonly action: 'bind'; readonly value: OwnerKey }
  | { readonly action: 'unbind' };

export interface Plan {
  readonly ok: true;
  /** The new record, or 'deleted' (finish-split: the parent disappears, children appear). */
  readonly next: BundleRecord | 'deleted';
  readonly ownerKey: OwnerKeyAction;
  readonly conditions: readonly Condition[];
  /** finish-split: the children's first records (same order as the ranges). */
  readonly children?: readonly BundleRecord[];
}

export interface Rejection {
  readonly ok: false;
  readonly why: string;
}

/** Every state change the table allows (absent counts as free). 'deleted' ends a split parent. */
export const ALLOWED_EDGES: ReadonlySet<string> = new Set([
  'free>assigning',
  'assigning>owned',
  'owned>releasing',
  'releasing>assigning',
  'releasing>free',
  'owned>splitting',
  'splitting>deleted',
  // orphan clean-up
  'owned>free',
  'assigning>free',
]);

export function emptyRecord(): BundleRecord {
  return {
    state: BundleStates.Free,
    owner: '',
    ownerSession: '',
    destination: '',
    epoch: 0,
    previousOwner: '',
    movedAtMs: 0,
    changedAtMs: 0,
    changedBy: '',
    reason: '',
    splitPoints: [],
  };
}

const reject = (why: string): Rejection => ({ ok: false, why });

/** True when the owner key proves the record's owner still holds its session for this term. */
export function ownerBound(record: BundleRecord | undefined, key: OwnerKey | undefined): boolean {
  return (
    record !== undefined &&
    key !== undefined &&
    record.owner !== '' &&
    key.broker === record.owner &&
    key.epoch === record.epoch
  );
}

/**
 * An orphan is a bundle whose responsible broker is gone: Owned/Releasing without a bound owner
 * key, or Assigning to a broker that is not registered. Splitting is never orphaned (anyone may
 * finish a split).
 */
export function isOrphan(s: Snapshot): boolean {
  const r = s.record;
  if (!r) return false;
  switch (r.state) {
    case BundleStates.Owned:
    case BundleStates.Releasing:
      return !ownerBound(r, s.ownerKey);
    case BundleStates.Assigning:
      return !s.registered(r.destination);
    default:
      return false;
  }
}

/** Plan one transition from a snapshot. Pure. */
export function plan(s: Snapshot, t: Transition): Plan | Rejection {
  const cur = s.record ?? emptyRecord();
  const stamp = (by: string, reason: string) => ({ changedAtMs: s.nowMs, changedBy: by, reason });
  switch (t.kind) {
    case 'assign': {
      if (cur.state !== BundleStates.Free) return reject(`assign needs free, bundle is ${cur.state}`);
      if (!t.destination) return reject('assign needs a destination');
      return {
        ok: true,
        next: { ...cur, ...stamp(t.by, t.reason), state: BundleStates.Assigning, destination: t.destination },
        ownerKey: { action: 'keep' },
        // A free bundle never has a bound owner key; checking keeps a stale one from surviving.
        conditions: [{ on: 'owner-key', expect: 'absent' }],
      };
    }
    case 'claim': {
      if (cur.state !== BundleStates.Assigning)
        return reject(`claim needs assigning, bundle is ${cur.state}`);
      if (cur.destination !== t.broker) return reject(`assigned to ${cur.destination}, not ${t.broker}`);
      const epoch = cur.epoch + 1;
      return {
        ok: true,
        next: {
          ...cur,
          ...stamp(t.broker, 'claim'),
          state: BundleStates.Owned,
          owner: t.broker,
          ownerSession: t.sessionId,
          destination: '',
          epoch,
        },
        ownerKey: { action: 'bind', value: { broker: t.broker, epoch, sessionId: t.sessionId } },
        conditions: [{ on: 'owner-key', expect: 'absent' }],
      };
    }
    case 'release': {
      if (cur.state !== BundleStates.Owned) return reject(`release needs owned, bundle is ${cur.state}`);
      if (!ownerBound(cur, s.ownerKey)) return reject('owner lost its session (orphan: free it instead)');
      if (t.destination === cur.owner) return reject('destination is the current owner');
      return {
        ok: true,
        next: {
          ...cur,
          ...stamp(t.by, t.reason),
          state: BundleStates.Releasing,
          destination: t.destination,
          movedAtMs: t.move ? s.nowMs : cur.movedAtMs,
        },
        ownerKey: { action: 'keep' },
        conditions: [{ on: 'owner-key', expect: 'unchanged' }],
      };
    }
    case 'finish-release': {
      if (cur.state !== BundleStates.Releasing)
        return reject(`finish-release needs releasing, bundle is ${cur.state}`);
      if (cur.owner !== t.broker) return reject(`releasing owner is ${cur.owner}, not ${t.broker}`);
      if (!ownerBound(cur, s.ownerKey)) return reject('owner lost its session (orphan: free it instead)');
      const next: BundleRecord = {
        ...cur,
        ...stamp(t.broker, cur.reason),
        state: cur.destination ? BundleStates.Assigning : BundleStates.Free,
        owner: '',
        ownerSession: '',
        previousOwner: cur.owner,
      };
      return {
        ok: true,
        next,
        ownerKey: { action: 'unbind' },
        conditions: [{ on: 'owner-key', expect: 'unchanged' }],
      };
    }
    case 'split': {
      if (cur.state !== BundleStates.Owned) return reject(`split needs owned, bundle is ${cur.state}`);
      if (!ownerBound(cur, s.ownerKey)) return reject('owner lost its session (orphan: free it instead)');
      if (t.points.length === 0) return reject('split needs at least one cut point');
      return {
        ok: true,
        next: { ...cur, ...stamp(t.by, 'split'), state: BundleStates.Splitting, splitPoints: [...t.points] },
        ownerKey: { action: 'keep' },
        conditions: [{ on: 'owner-key', expect: 'unchanged' }],
      };
    }
    case 'finish-split': {
      if (cur.state !== BundleStates.Splitting)
        return reject(`finish-split needs splitting, bundle is ${cur.state}`);
      const bound = ownerBound(cur, s.ownerKey);
      // The children go back to the same owner when it is still there (no needless move), else free.
      const child: BundleRecord = bound
        ? {
            ...emptyRecord(),
            ...stamp(t.by, 'split'),
            state: BundleStates.Assigning,
            destination: cur.owner,
            epoch: cur.epoch,
            previousOwner: cur.owner,
            movedAtMs: cur.movedAtMs,
          }
        : {
            ...emptyRecord(),
            ...stamp(t.by, 'split'),
            epoch: cur.epoch,
            previousOwner: cur.owner,
            movedAtMs: cur.movedAtMs,
          };
      return {
        ok: true,
        next: 'deleted',
        ownerKey: s.ownerKey ? { action: 'unbind' } : { action: 'keep' },
        conditions: [
          s.ownerKey ? { on: 'owner-key', expect: 'unchanged' } : { on: 'owner-key', expect: 'absent' },
        ],
        children: Array.from({ length: cur.splitPoints.length + 1 }, () => child),
      };
    }
    case 'free': {
      if (!isOrphan(s)) return reject(`bundle is ${cur.state} and not orphaned`);
      const conditions: Condition[] =
        cur.state === BundleStates.Assigning
          ? [
              { on: 'registration', broker: cur.destination, expect: 'absent' },
              { on: 'owner-key', expect: 'absent' },
            ]
          : [{ on: 'owner-key', expect: s.ownerKey ? 'unchanged' : 'absent' }];
      return {
        ok: true,
        next: {
          ...cur,
          ...stamp(t.by, t.reason),
          state: BundleStates.Free,
          owner: '',
          ownerSession: '',
          destination: '',
          previousOwner: cur.owner || cur.previousOwner,
        },
        // A stale owner key (older term, or another broker's) is removed with the clean-up.
        ownerKey: s.ownerKey ? { action: 'unbind' } : { action: 'keep' },
        conditions,
      };
    }
  }
}

/** The edge a plan takes, for checking against ALLOWED_EDGES. */
export function edgeOf(from: BundleRecord | undefined, p: Plan): string {
  return `${from?.state ?? BundleStates.Free}>${p.next === 'deleted' ? 'deleted' : p.next.state}`;
}
