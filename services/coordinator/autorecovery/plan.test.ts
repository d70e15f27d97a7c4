import { describe, expect, it } from 'vitest';
import type { LedgerMeta } from '../../../lib/ledger/protocol/metadata.ts';
import { fragmentRanges, missingBookies, type PlanContext, planLedger, withReplacement } from './plan.ts';

const meta = (over: Partial<LedgerMeta> = {}): LedgerMeta => ({
  ledgerId: 7,
  ensembleSize: 3,
  writeQuorum: 2,
  ackQuorum: 2,
  state: 'closed',
  lastEntryId: 99,
  length: 0,
  segments: [
    { bookieIds: ['b1', 'b2', 'b3'], firstEntryId: 0 },
    { bookieIds: ['b1', 'b4', 'b3'], firstEntryId: 50 },
  ],
  password: new Uint8Array([1]),
  ctimeMs: 0,
  customMetadata: {},
  ...over,
});

const ctx = (over: Partial<PlanContext> = {}): PlanContext => ({
  registered: (id) => ['b1', 'b3', 'b4', 'b5', 'b6'].includes(id),
  decommissioned: () => false,
  writable: ['b1', 'b3', 'b4', 'b5', 'b6'],
  markedAtMs: 1000,
  nowMs: 2000,
  openGraceMs: 30_000,
  ...over,
});

describe('autorecovery planning', () => {
  it('finds fragments and the bookies missing from them', () => {
    expect(fragmentRanges(meta())).toEqual([
      { segmentIndex: 0, first: 0, last: 49 },
      { segmentIndex: 1, first: 50, last: 99 },
    ]);
    expect(missingBookies(meta(), ctx())).toEqual(['b2']);
    // A decommissioned bookie counts as missing even though it is registered.
    expect(missingBookies(meta(), ctx({ decommissioned: (id) => id === 'b3' }))).toEqual(['b2', 'b3']);
    // A bookie gone for less than the delay is not missing yet.
    expect(missingBookies(meta(), ctx({ recentlyGone: (id) => id === 'b2' }))).toEqual([]);
  });

  it('copies sealed fragments to a writable bookie outside the segment', () => {
    const actions = planLedger(meta(), ctx());
    expect(actions).toHaveLength(1);
    const a = actions[0];
    expect(a).toMatchObject({
      kind: 'copy',
      segmentIndex: 0,
      replaceIndex: 1,
      replaced: 'b2',
      first: 0,
      last: 49,
    });
    if (a.kind !== 'copy') throw new Error('copy expected');
    expect(['b4', 'b5', 'b6']).toContain(a.target);
    const next = withReplacement(meta(), a)!;
    expect(next.segments[0].bookieIds).toEqual(['b1', a.target, 'b3']);
    // Refused when the metadata no longer matches what was copied.
    expect(
      withReplacement(meta({ lastEntryId: 120 }), {
        ...a,
        segmentIndex: 1,
        first: 50,
        last: 99,
        replaced: 'b4',
        replaceIndex: 1,
      }),
    ).toBeUndefined();
  });

  it('gives distinct targets to two missing bookies of one segment, and reports no target when none fits', () => {
    const m = meta({ segments: [{ bookieIds: ['b1', 'b2', 'b3'], firstEntryId: 0 }] });
    const two = planLedger(
      m,
      ctx({ registered: (id) => id === 'b1' || id === 'b5' || id === 'b6', writable: ['b1', 'b5', 'b6'] }),
    );
    const targets = two.map((x) => (x.kind === 'copy' ? x.target : x.kind));
    expect(new Set(targets)).toEqual(new Set(['b5', 'b6']));
    const none = planLedger(m, ctx({ writable: ['b1', 'b3'] }));
    expect(none).toEqual([{ kind: 'no-target', segmentIndex: 0, replaced: 'b2' }]);
  });

  it('waits out the grace period on an open last fragment, then asks for fencing', () => {
    const open = meta({
      state: 'open',
      lastEntryId: -1,
      segments: [{ bookieIds: ['b1', 'b2', 'b3'], firstEntryId: 0 }],
    });
    expect(planLedger(open, ctx({ nowMs: 5000 }))).toEqual([
      { kind: 'wait-open', segmentIndex: 0, untilMs: 31_000 },
    ]);
    expect(planLedger(open, ctx({ nowMs: 31_000 }))).toEqual([{ kind: 'fence', segmentIndex: 0 }]);
    // Earlier fragments of an open ledger are sealed and copied right away.
    const twoSegs = meta({ state: 'open', lastEntryId: -1 });
    const actions = planLedger(twoSegs, ctx({ registered: (id) => id !== 'b2' && id !== 'b4' }));
    expect(actions.map((x) => x.kind).sort()).toEqual(['copy', 'wait-open']);
  });

  it('ignores empty fragments', () => {
    const m = meta({
      lastEntryId: 49,
      segments: [
        { bookieIds: ['b1', 'b4', 'b3'], firstEntryId: 0 },
        { bookieIds: ['b1', 'b2', 'b3'], firstEntryId: 50 },
      ],
    });
    expect(missingBookies(m, ctx())).toEqual([]);
    expect(planLedger(m, ctx())).toEqual([]);
  });
});
