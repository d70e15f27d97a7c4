/**
 * The ownership driver against real etcd: every transition is one transaction with a CAS on the
 * record, the owner key bound to the claimer's session, and the plan's conditions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { equalBoundaries, rangesOf } from '../../lib/cluster/bundle-range.ts';
import { ensureBoundaries } from '../../lib/cluster/namespace-bundles.ts';
import { ownerBound } from '../../lib/cluster/ownership-state.ts';
import { type BundleId, OwnershipStore } from '../../lib/cluster/ownership-store.ts';
import type { EtcdMetadataStore } from '../../lib/metadata/etcd-store.ts';
import * as keys from '../../lib/metadata/keys.ts';
import type { Session } from '../../lib/metadata/store.ts';
import { CLUSTER, newPrefix, openStore, prng } from './helpers.ts';

let store: EtcdMetadataStore;
let os: OwnershipStore;
const sessions: Session[] = [];
const live = new Set<string>();
const registered = (id: string) => live.has(id);

async function brokerSession(id: string): Promise<Session> {
  const s = await store.createSession(2000);
  sessions.push(s);
  await store.put(keys.broker(CLUSTER, id), new Uint8Array([1]), { session: s });
  live.add(id);
  return s;
}

async function boundariesOf(ns: string) {
  return ensureBoundaries(os, 't', ns, async () => equalBoundaries(4));
}

beforeAll(async () => {
  store = await openStore(newPrefix());
  os = new OwnershipStore(store, CLUSTER);
});

afterAll(async () => {
  for (const s of sessions) await s.close().catch(() => undefined);
  await store.deletePrefix('/');
  await store.close();
});

describe('ownership driver on etcd', { concurrent: false }, () => {
  it('runs assign → claim → release → finish-release → claim, binding the owner key to the session', async () => {
    const b = await boundariesOf('walk');
    const id: BundleId = { tenant: 't', namespace: 'walk', range: rangesOf(b.value)[1] };
    const sa = await brokerSession('a');
    const sb = await brokerSession('b');
    const ctx = { registered, nowMs: 1 };
    let taken = await os.read(id);
    expect(taken.record).toBeUndefined();
    // Creating a record from nothing requires the boundaries version.
    const noBoundaries = await os
      .transition(id, taken, { kind: 'assign', destination: 'a', by: 'x', reason: 'test' }, ctx)
      .catch((e: Error) => e);
    expect(String(noBoundaries)).toMatch(/TRANSITION_REJECTED/);
    let res = await os.transition(
      id,
      taken,
      { kind: 'assign', destination: 'a', by: 'x', reason: 'test' },
      { ...ctx, boundariesVersion: b.version },
    );
    expect(res.ok).toBe(true);
    taken = await os.read(id);
    // Only the destination can claim, and the claim needs its session.
    expect(
      (
        await os.transition(
          id,
          taken,
          { kind: 'claim', broker: 'b', sessionId: sb.id },
          { ...ctx, session: sb },
        )
      ).ok,
    ).toBe(false);
    res = await os.transition(
      id,
      taken,
      { kind: 'claim', broker: 'a', sessionId: sa.id },
      { ...ctx, session: sa },
    );
    expect(res.ok).toBe(true);
    taken = await os.read(id);
    expect(taken.record).toMatchObject({ state: 'owned', owner: 'a', epoch: 1 });
    expect(taken.ownerKey).toEqual({ broker: 'a', epoch: 1, sessionId: sa.id });
    const ownerEntry = await store.get(os.ownerKeyOf(id));
    expect(ownerEntry?.sessionId).toBe(sa.id);
    res = await os.transition(
      id,
      taken,
      { kind: 'release', by: 'coord', destination: 'b', reason: 'unload', move: true },
      ctx,
    );
    expect(res.ok).toBe(true);
    taken = await os.read(id);
    res = await os.transition(id, taken, { kind: 'finish-release', broker: 'a' }, ctx);
    expect(res.ok).toBe(true);
    taken = await os.read(id);
    expect(taken.record).toMatchObject({ state: 'assigning', destination: 'b', previousOwner: 'a' });
    expect(taken.ownerKey).toBeUndefined();
    res = await os.transition(
      id,
      taken,
      { kind: 'claim', broker: 'b', sessionId: sb.id },
      { ...ctx, session: sb },
    );
    expect(res.ok).toBe(true);
    expect((await os.read(id)).record).toMatchObject({ state: 'owned', owner: 'b', epoch: 2 });
  });

  it('lets exactly one of many concurrent assigns and stale-snapshot transitions win', async () => {
    const b = await boundariesOf('race');
    const id: BundleId = { tenant: 't', namespace: 'race', range: rangesOf(b.value)[0] };
    const taken = await os.read(id);
    const results = await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((dst) =>
        os.transition(
          id,
          taken,
          { kind: 'assign', destination: dst, by: dst, reason: 'race' },
          { registered, nowMs: 2, boundariesVersion: b.version },
        ),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.conflict)).toBe(true);
  });

  it('frees an owned bundle only after its owner session is gone', async () => {
    const b = await boundariesOf('orphan');
    const id: BundleId = { tenant: 't', namespace: 'orphan', range: rangesOf(b.value)[2] };
    const sc = await brokerSession('c');
    await os.transition(
      id,
      await os.read(id),
      { kind: 'assign', destination: 'c', by: 'x', reason: 't' },
      { registered, nowMs: 3, boundariesVersion: b.version },
    );
    await os.transition(
      id,
      await os.read(id),
      { kind: 'claim', broker: 'c', sessionId: sc.id },
      { registered, nowMs: 3, session: sc },
    );
    const owned = await os.read(id);
    expect(ownerBound(owned.record, owned.ownerKey)).toBe(true);
    expect(
      (
        await os.transition(
          id,
          owned,
          { kind: 'free', by: 'coord', reason: 'orphan' },
          { registered, nowMs: 4 },
        )
      ).ok,
    ).toBe(false);
    await sc.close();
    live.delete('c');
    const orphan = await os.read(id);
    expect(orphan.ownerKey).toBeUndefined();
    const freed = await os.transition(
      id,
      orphan,
      { kind: 'free', by: 'coord', reason: 'orphan' },
      { registered, nowMs: 5 },
    );
    expect(freed.ok).toBe(true);
    expect((await os.read(id)).record).toMatchObject({ state: 'free', previousOwner: 'c', epoch: 1 });
  });

  it('splits an owned bundle: children assigned back to the owner, boundaries rewritten in the same transaction', async () => {
    const b = await boundariesOf('split');
    const parent = rangesOf(b.value)[3];
    const id: BundleId = { tenant: 't', namespace: 'split', range: parent };
    const sd = await brokerSession('d');
    await os.transition(
      id,
      await os.read(id),
      { kind: 'assign', destination: 'd', by: 'x', reason: 't' },
      { registered, nowMs: 6, boundariesVersion: b.version },
    );
    await os.transition(
      id,
      await os.read(id),
      { kind: 'claim', broker: 'd', sessionId: sd.id },
      { registered, nowMs: 6, session: sd },
    );
    const mid = parent.lower + Math.floor((parent.upper - parent.lower) / 2);
    expect(
      (
        await os.transition(
          id,
          await os.read(id),
          { kind: 'split', by: 'coord', points: [mid] },
          { registered, nowMs: 7 },
        )
      ).ok,
    ).toBe(true);
    const done = await os.transitionFresh(
      id,
      { kind: 'finish-split', by: 'coord' },
      { registered, nowMs: 8 },
    );
    expect(done.ok).toBe(true);
    expect((await os.read(id)).record).toBeUndefined();
    expect((await os.read(id)).ownerKey).toBeUndefined();
    const after = await os.readBoundaries('t', 'split');
    expect(after?.value).toEqual([...b.value.slice(0, 4), mid, b.value[4]]);
    for (const range of [
      { lower: parent.lower, upper: mid },
      { lower: mid, upper: parent.upper },
    ]) {
      expect((await os.read({ ...id, range })).record).toMatchObject({
        state: 'assigning',
        destination: 'd',
        epoch: 1,
      });
    }
    // A stale creation from the old boundaries is refused.
    const stale = await os.transition(
      id,
      await os.read(id),
      { kind: 'assign', destination: 'd', by: 'x', reason: 't' },
      { registered, nowMs: 9, boundariesVersion: b.version },
    );
    expect(stale.ok).toBe(false);
  });

  it('keeps the invariants under seeded concurrent random transitions from three brokers', async () => {
    const b = await boundariesOf('chaos');
    const id: BundleId = { tenant: 't', namespace: 'chaos', range: rangesOf(b.value)[0] };
    const brokers = ['x', 'y', 'z'];
    const ss = new Map<string, Session>();
    for (const x of brokers) ss.set(x, await brokerSession(x));
    const rnd = prng(42);
    const claimed = new Map<number, string>();
    let wins = 0;
    for (let round = 0; round < 40; round++) {
      const taken = await os.read(id);
      const ops = brokers.map((actor) => {
        const roll = rnd();
        const dst = brokers[Math.floor(rnd() * brokers.length)];
        const t =
          roll < 0.3
            ? ({ kind: 'assign', destination: dst, by: actor, reason: 'chaos' } as const)
            : roll < 0.6
              ? ({ kind: 'claim', broker: actor, sessionId: ss.get(actor)!.id } as const)
              : roll < 0.8
                ? ({
                    kind: 'release',
                    by: actor,
                    destination: rnd() < 0.5 ? '' : dst,
                    reason: 'chaos',
                    move: false,
                  } as const)
                : ({ kind: 'finish-release', broker: actor } as const);
        return os.transition(id, taken, t, {
          registered,
          nowMs: round,
          session: ss.get(actor),
          boundariesVersion: b.version,
        });
      });
      const results = await Promise.all(ops);
      // Every actor planned from the same snapshot: at most one CAS can win.
      expect(results.filter((r) => r.ok).length).toBeLessThanOrEqual(1);
      wins += results.filter((r) => r.ok).length;
      const now = await os.read(id);
      if (now.record?.state === 'owned') {
        expect(ownerBound(now.record, now.ownerKey)).toBe(true);
        const prev = claimed.get(now.record.epoch);
        expect(prev === undefined || prev === now.record.owner).toBe(true);
        claimed.set(now.record.epoch, now.record.owner);
      }
      if (now.ownerKey) expect(ownerBound(now.record, now.ownerKey)).toBe(true);
    }
    expect(wins).toBeGreaterThan(10);
  });
});
