/**
 * The pure ownership state machine, including a seeded simulation of concurrent actors that plan
 * from stale snapshots and apply with compare-and-swap, the way the driver does against etcd.
 */
import { describe, expect, it } from 'vitest';
import {
  ALLOWED_EDGES,
  type BundleRecord,
  BundleStates,
  type Condition,
  edgeOf,
  isOrphan,
  type OwnerKey,
  ownerBound,
  type Plan,
  plan,
  type Snapshot,
  type Transition,
} from './ownership-state.ts';

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const snap = (
  record: BundleRecord | undefined,
  ownerKey?: OwnerKey,
  alive: string[] = ['a', 'b'],
): Snapshot => ({
  record,
  ownerKey,
  registered: (id) => alive.includes(id),
  nowMs: 1000,
});

function mustPlan(s: Snapshot, t: Transition): Plan {
  const p = plan(s, t);
  if (!p.ok) throw new Error(`rejected: ${p.why}`);
  return p;
}

describe('ownership transition table', () => {
  it('walks free → assigning → owned → releasing → assigning → owned with rising epochs', () => {
    const assigned = mustPlan(snap(undefined), {
      kind: 'assign',
      destination: 'a',
      by: 'x',
      reason: 'lookup',
    });
    expect(edgeOf(undefined, assigned)).toBe('free>assigning');
    const r1 = assigned.next as BundleRecord;
    const claimed = mustPlan(snap(r1), { kind: 'claim', broker: 'a', sessionId: 's1' });
    const r2 = claimed.next as BundleRecord;
    expect(r2).toMatchObject({ state: 'owned', owner: 'a', epoch: 1 });
    expect(claimed.ownerKey).toEqual({ action: 'bind', value: { broker: 'a', epoch: 1, sessionId: 's1' } });
    const key: OwnerKey = { broker: 'a', epoch: 1, sessionId: 's1' };
    const released = mustPlan(snap(r2, key), {
      kind: 'release',
      by: 'coord',
      destination: 'b',
      reason: 'shed',
      move: true,
    });
    const r3 = released.next as BundleRecord;
    expect(r3).toMatchObject({ state: 'releasing', owner: 'a', destination: 'b', movedAtMs: 1000 });
    const finished = mustPlan(snap(r3, key), { kind: 'finish-release', broker: 'a' });
    const r4 = finished.next as BundleRecord;
    expect(r4).toMatchObject({ state: 'assigning', destination: 'b', owner: '', previousOwner: 'a' });
    expect(finished.ownerKey).toEqual({ action: 'unbind' });
    const r5 = mustPlan(snap(r4), { kind: 'claim', broker: 'b', sessionId: 's2' }).next as BundleRecord;
    expect(r5).toMatchObject({ state: 'owned', owner: 'b', epoch: 2 });
  });

  it('refuses transitions outside the table', () => {
    const owned: BundleRecord = {
      ...(mustPlan(snap(undefined), { kind: 'assign', destination: 'a', by: 'x', reason: '' })
        .next as BundleRecord),
      state: BundleStates.Owned,
      owner: 'a',
      destination: '',
      epoch: 3,
    };
    const key: OwnerKey = { broker: 'a', epoch: 3, sessionId: 's' };
    expect(plan(snap(owned, key), { kind: 'assign', destination: 'b', by: 'x', reason: '' }).ok).toBe(false);
    expect(plan(snap(owned, key), { kind: 'claim', broker: 'b', sessionId: 's' }).ok).toBe(false);
    expect(plan(snap(owned, key), { kind: 'finish-release', broker: 'a' }).ok).toBe(false);
    expect(plan(snap(owned, key), { kind: 'free', by: 'x', reason: '' }).ok).toBe(false);
    expect(
      plan(snap(owned, key), { kind: 'release', by: 'x', destination: 'a', reason: '', move: true }).ok,
    ).toBe(false);
    // A stale owner key (older term) does not bind: the bundle is an orphan and may be freed.
    const stale: OwnerKey = { broker: 'a', epoch: 2, sessionId: 'old' };
    expect(ownerBound(owned, stale)).toBe(false);
    expect(isOrphan(snap(owned, stale))).toBe(true);
    const freed = mustPlan(snap(owned, stale), { kind: 'free', by: 'coord', reason: 'orphan' });
    expect(freed.ownerKey).toEqual({ action: 'unbind' });
    expect(freed.next).toMatchObject({ state: 'free', previousOwner: 'a', epoch: 3 });
  });

  it('frees an assignment to an unregistered broker, conditioned on its registration staying absent', () => {
    const r = mustPlan(snap(undefined), { kind: 'assign', destination: 'gone', by: 'x', reason: '' })
      .next as BundleRecord;
    const p = mustPlan(snap(r, undefined, ['a']), { kind: 'free', by: 'coord', reason: 'orphan' });
    expect(p.conditions).toContainEqual({ on: 'registration', broker: 'gone', expect: 'absent' });
    expect(plan(snap(r, undefined, ['gone']), { kind: 'free', by: 'c', reason: '' }).ok).toBe(false);
  });

  it('finishes a split into children assigned back to a live owner, or free ones', () => {
    const owned = mustPlan(
      snap(
        mustPlan(snap(undefined), { kind: 'assign', destination: 'a', by: 'x', reason: '' })
          .next as BundleRecord,
      ),
      { kind: 'claim', broker: 'a', sessionId: 's' },
    ).next as BundleRecord;
    const key: OwnerKey = { broker: 'a', epoch: owned.epoch, sessionId: 's' };
    const splitting = mustPlan(snap(owned, key), { kind: 'split', by: 'coord', points: [5, 9] })
      .next as BundleRecord;
    const done = mustPlan(snap(splitting, key), { kind: 'finish-split', by: 'coord' });
    expect(done.next).toBe('deleted');
    expect(done.children).toHaveLength(3);
    expect(done.children?.[0]).toMatchObject({ state: 'assigning', destination: 'a' });
    const orphaned = mustPlan(snap(splitting, undefined), { kind: 'finish-split', by: 'coord' });
    expect(orphaned.children?.[0]).toMatchObject({ state: 'free', previousOwner: 'a' });
  });
});

/* ---------------- seeded simulation of concurrent CAS transitions ---------------- */

interface Cell<T> {
  value: T;
  version: number;
}

class SimStore {
  rev = 0;
  record: Cell<BundleRecord> | undefined;
  ownerKey: (Cell<OwnerKey> & { session: string }) | undefined;
  readonly sessions = new Map<string, string>(); // broker -> live session id
  readonly registrations = new Map<string, number>(); // broker -> version

  snapshot(nowMs: number): {
    s: Snapshot;
    recordVersion?: number;
    ownerVersion?: number;
    regs: Map<string, number>;
  } {
    const regs = new Map(this.registrations);
    return {
      s: {
        record: this.record?.value,
        ownerKey: this.ownerKey?.value,
        registered: (id) => regs.has(id),
        nowMs,
      },
      recordVersion: this.record?.version,
      ownerVersion: this.ownerKey?.version,
      regs,
    };
  }

  /** The driver's transaction, simulated: CAS on the record plus the plan's conditions. */
  apply(
    taken: { recordVersion?: number; ownerVersion?: number },
    p: Plan,
    bindSession: string | undefined,
  ): 'ok' | 'conflict' {
    if (this.record?.version !== taken.recordVersion) return 'conflict';
    for (const c of p.conditions as Condition[]) {
      if (c.on === 'owner-key' && c.expect === 'absent' && this.ownerKey) return 'conflict';
      if (c.on === 'owner-key' && c.expect === 'unchanged' && this.ownerKey?.version !== taken.ownerVersion)
        return 'conflict';
      if (c.on === 'registration' && this.registrations.has(c.broker)) return 'conflict';
    }
    if (p.ownerKey.action === 'bind') {
      // The key is bound to the claimer's session: a dead session cannot create it.
      if (!bindSession || this.sessions.get(p.ownerKey.value.broker) !== bindSession) return 'conflict';
    }
    const rev = ++this.rev;
    // After a split the simulation follows the first child (a new key with the parent's epoch).
    const next = p.next === 'deleted' ? p.children?.[0] : p.next;
    this.record = next ? { value: next, version: rev } : undefined;
    if (p.ownerKey.action === 'bind')
      this.ownerKey = { value: p.ownerKey.value, version: rev, session: bindSession! };
    if (p.ownerKey.action === 'unbind') this.ownerKey = undefined;
    return 'ok';
  }

  expire(broker: string): void {
    this.sessions.delete(broker);
    this.registrations.delete(broker);
    if (this.ownerKey?.value.broker === broker) this.ownerKey = undefined;
  }

  start(broker: string, session: string): void {
    this.sessions.set(broker, session);
    this.registrations.set(broker, ++this.rev);
  }
}

const BROKERS = ['a', 'b', 'c'];

function randomTransition(rnd: () => number, actor: string, s: Snapshot): Transition {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const dest = pick([...BROKERS, 'ghost']);
  switch (Math.floor(rnd() * 7)) {
    case 0:
      return { kind: 'assign', destination: dest, by: actor, reason: 'sim' };
    case 1:
      return { kind: 'claim', broker: actor, sessionId: `${actor}-session` };
    case 2:
      return { kind: 'release', by: actor, destination: rnd() < 0.5 ? '' : dest, reason: 'sim', move: true };
    case 3:
      return { kind: 'finish-release', broker: actor };
    case 4:
      return { kind: 'split', by: actor, points: [1 + Math.floor(rnd() * 100)] };
    case 5:
      return { kind: 'finish-split', by: actor };
    default:
      return s.record
        ? { kind: 'free', by: actor, reason: 'sim' }
        : { kind: 'assign', destination: dest, by: actor, reason: 'sim' };
  }
}

function checkInvariants(
  store: SimStore,
  before: BundleRecord | undefined,
  p: Plan,
  claims: Map<number, string>,
): void {
  expect(ALLOWED_EDGES.has(edgeOf(before, p)), edgeOf(before, p)).toBe(true);
  const rec = store.record?.value;
  if (rec) {
    expect(rec.epoch).toBeGreaterThanOrEqual(before?.epoch ?? 0);
    if (rec.state === 'owned' || rec.state === 'releasing' || rec.state === 'splitting')
      expect(rec.owner).not.toBe('');
    if (rec.state === 'assigning') expect(rec.destination).not.toBe('');
    if (p.next === 'deleted') expect(rec.epoch).toBe(before?.epoch);
    if (rec.state === 'free') expect([rec.owner, rec.destination]).toEqual(['', '']);
  }
  if (p.ownerKey.action === 'bind') {
    const { epoch, broker } = p.ownerKey.value;
    // Only the broker the bundle was assigned to can take it.
    expect(before?.state).toBe('assigning');
    expect(before?.destination).toBe(broker);
    expect(epoch).toBe((before?.epoch ?? 0) + 1);
    // One claim per term, ever: two brokers can never both win the same epoch.
    expect(claims.has(epoch), `epoch ${epoch} claimed twice`).toBe(false);
    claims.set(epoch, broker);
  }
  // A present owner key always matches the record and a live session of its broker.
  if (store.ownerKey) {
    expect(ownerBound(rec, store.ownerKey.value)).toBe(true);
    expect(store.sessions.get(store.ownerKey.value.broker)).toBe(store.ownerKey.session);
  }
}

function settle(store: SimStore, nowMs: number): number {
  // A well-behaved coordinator + brokers with no more failures: the bundle must end owned.
  for (let step = 0; step < 12; step++) {
    const taken = store.snapshot(nowMs);
    const r = taken.s.record;
    if (r?.state === 'owned' && ownerBound(r, taken.s.ownerKey)) return step;
    let t: Transition;
    if (isOrphan(taken.s)) t = { kind: 'free', by: 'coord', reason: 'orphan' };
    else if (!r || r.state === 'free')
      t = { kind: 'assign', destination: [...store.sessions.keys()][0], by: 'coord', reason: 'settle' };
    else if (r.state === 'assigning')
      t = { kind: 'claim', broker: r.destination, sessionId: store.sessions.get(r.destination)! };
    else if (r.state === 'releasing') t = { kind: 'finish-release', broker: r.owner };
    else t = { kind: 'finish-split', by: 'coord' };
    const p = plan(taken.s, t);
    if (!p.ok) throw new Error(`settle step rejected: ${p.why} (${JSON.stringify(r)})`);
    const bind = t.kind === 'claim' ? t.sessionId : undefined;
    if (store.apply(taken, p, bind) !== 'ok') throw new Error('settle conflict without concurrency');
  }
  throw new Error('bundle did not settle');
}

describe('ownership under concurrent CAS (seeded simulation)', () => {
  it('keeps every invariant over 300 seeds × 400 steps and always settles to a live owner', () => {
    let applied = 0;
    let conflicts = 0;
    let rejected = 0;
    const seen = new Set<string>();
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = prng(seed);
      const store = new SimStore();
      for (const b of BROKERS) store.start(b, `${b}-session`);
      const claims = new Map<number, string>();
      const pending: { actor: string; taken: ReturnType<SimStore['snapshot']>; t: Transition }[] = [];
      for (let step = 0; step < 400; step++) {
        const roll = rnd();
        if (roll < 0.03) {
          store.expire(BROKERS[Math.floor(rnd() * BROKERS.length)]);
        } else if (roll < 0.06) {
          const b = BROKERS.find((x) => !store.sessions.has(x));
          if (b) store.start(b, `${b}-session-${step}`);
        } else if (roll < 0.55 || pending.length === 0) {
          const actor = [...BROKERS, 'coord'][Math.floor(rnd() * 4)];
          const taken = store.snapshot(step);
          pending.push({ actor, taken, t: randomTransition(rnd, actor, taken.s) });
        } else {
          const [op] = pending.splice(Math.floor(rnd() * pending.length), 1);
          const p = plan(op.taken.s, op.t);
          if (!p.ok) {
            rejected++;
            continue;
          }
          const before = store.record?.value;
          const session = op.t.kind === 'claim' ? store.sessions.get(op.t.broker) : undefined;
          // A claim carries the session the broker had when it planned (a restarted broker's old plan fails).
          const bind =
            op.t.kind === 'claim' && session === op.t.sessionId
              ? session
              : op.t.kind === 'claim'
                ? `${op.t.sessionId}`
                : undefined;
          const outcome = store.apply(op.taken, p, bind);
          if (outcome === 'conflict') {
            conflicts++;
            continue;
          }
          applied++;
          seen.add(edgeOf(before, p));
          checkInvariants(store, before, p, claims);
        }
      }
      if (store.sessions.size === 0) store.start('a', 'a-final');
      settle(store, 10_000);
    }
    // The simulation must really have exercised races and every edge of the table.
    expect(conflicts).toBeGreaterThan(1000);
    expect(applied).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
    expect([...seen].sort()).toEqual([...ALLOWED_EDGES].sort());
  });
});
