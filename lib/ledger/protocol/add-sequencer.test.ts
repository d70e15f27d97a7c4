import { describe, expect, it } from 'vitest';
import { readEnvelopeHeader } from '../envelope.ts';
import { AddSequencer, type SequencerEffect } from './add-sequencer.ts';
import type { LedgerMeta } from './metadata.ts';

function meta(
  ensemble: string[],
  writeQuorum: number,
  ackQuorum: number,
  state: LedgerMeta['state'] = 'open',
): LedgerMeta {
  return {
    ledgerId: 7,
    ensembleSize: ensemble.length,
    writeQuorum,
    ackQuorum,
    state,
    lastEntryId: -1,
    length: 0,
    segments: [{ bookieIds: ensemble, firstEntryId: 0 }],
    password: Buffer.from('pw'),
    ctimeMs: 0,
    customMetadata: {},
  };
}

const opts = (m: LedgerMeta) => ({
  meta: m,
  lastAddConfirmed: -1,
  confirmedLength: 0,
  recovery: false,
  addTimeoutMs: 1000,
  bookieAddTimeoutMs: 100,
});

const sends = (effects: SequencerEffect[]) =>
  effects
    .filter((e) => e.kind === 'send')
    .map((e) => (e.kind === 'send' ? `${e.entryId}->${e.bookieId}` : ''));
const confirmed = (effects: SequencerEffect[]) =>
  effects.flatMap((e) => (e.kind === 'confirmed' ? [e.entryId] : []));
const ok = { kind: 'ok' } as const;

describe('AddSequencer', () => {
  it('stripes entries over the ensemble and piggybacks the LAC in each envelope', () => {
    const s = new AddSequencer(opts(meta(['a', 'b', 'c'], 2, 2)));
    expect(sends(s.submit(Buffer.from('x'), 0).effects)).toEqual(['0->a', '0->b']);
    expect(sends(s.submit(Buffer.from('yy'), 0).effects)).toEqual(['1->b', '1->c']);
    const third = s.submit(Buffer.from('zzz'), 0).effects[0];
    expect(third.kind === 'send' && third.bookieId).toBe('c');
    s.onAddResult(0, 'a', ok);
    s.onAddResult(0, 'b', ok);
    const fourth = s.submit(Buffer.from('w'), 0).effects[0];
    const header = readEnvelopeHeader(fourth.kind === 'send' ? fourth.body : new Uint8Array())!;
    expect(header).toEqual({ ledgerId: 7, entryId: 3, lastAddConfirmed: 0, length: 7 });
  });

  it('confirms in entry order only, once Qa of the write set acked', () => {
    const s = new AddSequencer(opts(meta(['a', 'b', 'c'], 3, 2)));
    for (let i = 0; i < 3; i++) s.submit(Buffer.from([i]), 0);
    expect(confirmed(s.onAddResult(1, 'a', ok))).toEqual([]);
    expect(confirmed(s.onAddResult(1, 'b', ok))).toEqual([]); // 1 has Qa but 0 does not
    expect(confirmed(s.onAddResult(2, 'c', ok))).toEqual([]);
    expect(confirmed(s.onAddResult(0, 'c', ok))).toEqual([]);
    expect(confirmed(s.onAddResult(0, 'a', ok))).toEqual([0, 1]);
    expect(confirmed(s.onAddResult(2, 'a', ok))).toEqual([2]);
    expect(s.lastAddConfirmed).toBe(2);
    expect(s.confirmedLength).toBe(3);
    // A duplicate or late answer changes nothing.
    expect(s.onAddResult(2, 'b', ok)).toEqual([]);
  });

  it('freezes the LAC from a bookie failure until the ensemble change, then re-sends to the replacement', () => {
    const s = new AddSequencer(opts(meta(['a', 'b', 'c'], 2, 2)));
    s.submit(Buffer.from('0'), 0); // a, b
    s.submit(Buffer.from('1'), 0); // b, c
    s.onAddResult(0, 'a', ok);
    s.onAddResult(0, 'b', ok);
    expect(s.lastAddConfirmed).toBe(0);
    expect(s.onAddResult(1, 'c', { kind: 'bookie-failed', reason: 'UNAVAILABLE' })).toEqual([
      { kind: 'ensemble-change-needed' },
    ]);
    expect(confirmed(s.onAddResult(1, 'b', ok))).toEqual([]); // frozen: c failed
    const frozen = s.beginEnsembleChange();
    expect(frozen.lastAddConfirmed).toBe(0);
    const changed = meta(['a', 'b', 'c'], 2, 2);
    const next = {
      ...changed,
      segments: [...changed.segments, { bookieIds: ['a', 'b', 'd'], firstEntryId: 1 }],
    };
    const effects = s.applyEnsembleChange(next, 1);
    expect(sends(effects)).toEqual(['1->d']);
    expect(confirmed(s.onAddResult(1, 'd', ok))).toEqual([1]);
  });

  it('drops acks of a replaced bookie (an entry must be re-confirmed by the new write set)', () => {
    const s = new AddSequencer(opts(meta(['a', 'b'], 2, 2)));
    s.submit(Buffer.from('0'), 0);
    s.onAddResult(0, 'a', ok);
    s.onAddResult(0, 'b', { kind: 'bookie-failed', reason: 'READ_ONLY' });
    s.beginEnsembleChange();
    const next = { ...meta(['a', 'c'], 2, 2), segments: [{ bookieIds: ['a', 'c'], firstEntryId: 0 }] };
    expect(sends(s.applyEnsembleChange(next, 0))).toEqual(['0->c']);
    expect(confirmed(s.onAddResult(0, 'b', ok))).toEqual([]); // stale answer from the old bookie
    expect(confirmed(s.onAddResult(0, 'c', ok))).toEqual([0]);
  });

  it('fails every pending add, in order, on FENCED', () => {
    const s = new AddSequencer(opts(meta(['a', 'b'], 2, 2)));
    for (let i = 0; i < 3; i++) s.submit(Buffer.from([i]), 0);
    s.onAddResult(0, 'a', ok);
    const effects = s.onAddResult(1, 'b', { kind: 'fenced' });
    expect(effects).toEqual([
      { kind: 'failed', entryIds: [0, 1, 2], failure: { code: 'LEDGER_FENCED', details: { ledgerId: 7 } } },
    ]);
    expect(s.broken?.code).toBe('LEDGER_FENCED');
    expect(s.pendingCount).toBe(0);
  });

  it('times out a silent bookie, and fails everything after the add timeout', () => {
    const s = new AddSequencer(opts(meta(['a', 'b', 'c'], 2, 2)));
    s.submit(Buffer.from('0'), 0);
    s.onAddResult(0, 'a', ok);
    expect(s.tick(50)).toEqual([]);
    expect(s.tick(100)).toEqual([{ kind: 'ensemble-change-needed' }]);
    expect([...s.failedBookies.keys()]).toEqual(['b']);
    const failed = s.tick(1000);
    expect(failed[0].kind === 'failed' && failed[0].failure.code).toBe('TIMEOUT');
  });

  it('in recovery re-sends bodies as read, contiguously, as recovery adds', () => {
    const writer = new AddSequencer(opts(meta(['a', 'b'], 2, 2)));
    const body = (writer.submit(Buffer.from('p'), 0).effects[0] as { body: Uint8Array }).body;
    const r = new AddSequencer({ ...opts(meta(['a', 'b'], 2, 2, 'in-recovery')), recovery: true });
    const effects = r.submitRecovered(0, body, 0);
    expect(effects.every((e) => e.kind === 'send' && e.recovery && e.body === body)).toBe(true);
    expect(() => r.submitRecovered(2, body, 0)).toThrow(/contiguously/);
  });
});
