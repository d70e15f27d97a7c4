import { describe, expect, it } from 'vitest';
import { planEnsembleChange } from './ensemble-change.ts';
import type { LedgerMeta } from './metadata.ts';
import { randomPlacement, spreadPlacement } from './placement.ts';

const base: LedgerMeta = {
  ledgerId: 1,
  ensembleSize: 3,
  writeQuorum: 2,
  ackQuorum: 2,
  state: 'open',
  lastEntryId: -1,
  length: 0,
  segments: [{ bookieIds: ['a', 'b', 'c'], firstEntryId: 0 }],
  password: Buffer.from('pw'),
  ctimeMs: 0,
  customMetadata: {},
};
const candidates = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, labels: {} }));
const input = (over: Partial<Parameters<typeof planEnsembleChange>[0]>) => ({
  meta: base,
  lastAddConfirmed: 9,
  failed: ['b'],
  candidates,
  exclude: new Set<string>(),
  placement: randomPlacement,
  random: () => 0,
  mode: 'writer' as const,
  ...over,
});

describe('planEnsembleChange', () => {
  it('appends a fragment at LAC + 1 with the failed bookie replaced', () => {
    const plan = planEnsembleChange(input({}));
    expect(plan.kind).toBe('update');
    if (plan.kind !== 'update') return;
    expect(plan.meta.segments).toEqual([
      { bookieIds: ['a', 'b', 'c'], firstEntryId: 0 },
      { bookieIds: ['a', 'd', 'c'], firstEntryId: 10 },
    ]);
    expect([...plan.replaced]).toEqual([['b', 'd']]);
  });

  it('replaces the last fragment when it already starts at LAC + 1', () => {
    const plan = planEnsembleChange(input({ lastAddConfirmed: -1, exclude: new Set(['d']) }));
    expect(plan.kind === 'update' && plan.meta.segments).toEqual([
      { bookieIds: ['a', 'e', 'c'], firstEntryId: 0 },
    ]);
  });

  it('fails fenced on IN_RECOVERY, closed on CLOSED, and needs enough bookies', () => {
    const code = (p: ReturnType<typeof planEnsembleChange>) => (p.kind === 'fail' ? p.failure.code : p.kind);
    expect(code(planEnsembleChange(input({ meta: { ...base, state: 'in-recovery' } })))).toBe(
      'LEDGER_FENCED',
    );
    expect(code(planEnsembleChange(input({ meta: { ...base, state: 'closed', lastEntryId: 3 } })))).toBe(
      'LEDGER_CLOSED',
    );
    expect(code(planEnsembleChange(input({ exclude: new Set(['d', 'e']) })))).toBe('NOT_ENOUGH_BOOKIES');
    expect(code(planEnsembleChange(input({ failed: ['z'] })))).toBe('unchanged');
  });

  it('lets recovery change an IN_RECOVERY ledger, never below the last fragment', () => {
    const inRecovery: LedgerMeta = {
      ...base,
      state: 'in-recovery',
      segments: [...base.segments, { bookieIds: ['a', 'd', 'c'], firstEntryId: 20 }],
    };
    const code = (p: ReturnType<typeof planEnsembleChange>) => (p.kind === 'fail' ? p.failure.code : p.kind);
    expect(
      code(
        planEnsembleChange(
          input({ meta: inRecovery, mode: 'recovery', lastAddConfirmed: 25, failed: ['d'] }),
        ),
      ),
    ).toBe('update');
    expect(
      code(
        planEnsembleChange(input({ meta: inRecovery, mode: 'recovery', lastAddConfirmed: 5, failed: ['d'] })),
      ),
    ).toBe('RECOVERY_FAILED');
    expect(
      code(
        planEnsembleChange(input({ meta: inRecovery, mode: 'writer', lastAddConfirmed: 5, failed: ['d'] })),
      ),
    ).toBe('LEDGER_FENCED');
    expect(code(planEnsembleChange(input({ meta: { ...base, state: 'open' }, mode: 'recovery' })))).toBe(
      'RECOVERY_FAILED',
    );
  });

  it('picks replacements across zones with the default policy', () => {
    const zoned = [
      { id: 'a', labels: { zone: 'z1' } },
      { id: 'b', labels: { zone: 'z2' } },
      { id: 'c', labels: { zone: 'z3' } },
      { id: 'd', labels: { zone: 'z1' } },
      { id: 'e', labels: { zone: 'z2' } },
    ];
    const plan = planEnsembleChange(input({ candidates: zoned, placement: spreadPlacement, failed: ['b'] }));
    // The ensemble keeps a (z1) and c (z3): the z2 bookie e is the better replacement than d (z1).
    expect(plan.kind === 'update' && plan.meta.segments[1].bookieIds).toEqual(['a', 'e', 'c']);
  });
});
