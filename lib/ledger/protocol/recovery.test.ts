import { describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../envelope.ts';
import type { LedgerMeta } from './metadata.ts';
import { LedgerRecovery, type RecoveryEffect } from './recovery.ts';

const meta: LedgerMeta = {
  ledgerId: 3,
  ensembleSize: 3,
  writeQuorum: 2,
  ackQuorum: 2,
  state: 'in-recovery',
  lastEntryId: -1,
  length: 0,
  segments: [
    { bookieIds: ['a', 'b', 'c'], firstEntryId: 0 },
    { bookieIds: ['a', 'd', 'c'], firstEntryId: 10 },
  ],
  password: Buffer.from('pw'),
  ctimeMs: 0,
  customMetadata: {},
};
const body = (entryId: number) =>
  encodeEnvelope({ ledgerId: 3, entryId, lastAddConfirmed: 5, length: 100 + entryId }, Buffer.from('p'));
const kinds = (effects: RecoveryEffect[]) => effects.map((e) => e.kind);

describe('LedgerRecovery', () => {
  it('fences the last ensemble, starts at max(LAC, last fragment first - 1), reads with fence', () => {
    const r = new LedgerRecovery({ meta, readWindow: 2, readAttemptsMax: 3 });
    expect(r.start()).toEqual(['a', 'd', 'c'].map((bookieId) => ({ kind: 'fence', bookieId })));
    expect(r.onFenceReply('a', { kind: 'answered', lac: 4 })).toEqual([]);
    const effects = r.onFenceReply('c', { kind: 'answered', lac: 6 });
    expect(effects[0]).toEqual({ kind: 'start-write-back', lastAddConfirmed: 9 });
    expect(effects.slice(1)).toEqual([
      { kind: 'read', entryId: 10, bookieId: 'd', fence: true },
      { kind: 'read', entryId: 10, bookieId: 'c', fence: true },
      { kind: 'read', entryId: 11, bookieId: 'c', fence: true },
      { kind: 'read', entryId: 11, bookieId: 'a', fence: true },
    ]);
  });

  it('writes back found entries in order and closes before the first absent one', () => {
    const r = new LedgerRecovery({ meta, readWindow: 4, readAttemptsMax: 3 });
    r.start();
    r.onFenceReply('a', { kind: 'answered', lac: 12 });
    r.onFenceReply('c', { kind: 'answered', lac: 3 });
    expect(r.startPoint).toBe(12);
    expect(kinds(r.onReadReply(14, 'd', { kind: 'found', body: body(14) }))).toEqual([]); // d is not in 14's write set
    expect(kinds(r.onReadReply(14, 'c', { kind: 'found', body: body(14) }))).toEqual([]); // waits for 13
    const e13 = r.onReadReply(13, 'd', { kind: 'found', body: body(13) });
    expect(
      e13.filter((e) => e.kind === 'write-back').map((e) => e.kind === 'write-back' && e.entryId),
    ).toEqual([13, 14]);
    r.onReadReply(15, 'a', { kind: 'absent' });
    expect(r.onReadReply(15, 'd', { kind: 'absent' })).toEqual([]); // already decided
    expect(r.readingDone).toBe(true);
    expect(r.onWriteBackConfirmed(13, body(13))).toEqual([]);
    expect(r.onWriteBackConfirmed(14, body(14))).toEqual([{ kind: 'close', lastEntryId: 14, length: 114 }]);
  });

  it('asks for the start entry length when nothing follows it', () => {
    const r = new LedgerRecovery({ meta, readWindow: 1, readAttemptsMax: 3 });
    r.start();
    r.onFenceReply('a', { kind: 'answered', lac: 2 });
    r.onFenceReply('c', { kind: 'answered', lac: 2 });
    expect(r.onReadReply(10, 'c', { kind: 'absent' })).toEqual([{ kind: 'read-length', entryId: 9 }]);
    expect(r.onLength(555)).toEqual([{ kind: 'close', lastEntryId: 9, length: 555 }]);
  });

  it('retries an undecided entry, then gives up', () => {
    const r = new LedgerRecovery({ meta, readWindow: 1, readAttemptsMax: 2 });
    r.start();
    r.onFenceReply('a', { kind: 'answered', lac: 2 });
    r.onFenceReply('c', { kind: 'answered', lac: 2 });
    r.onReadReply(10, 'd', { kind: 'unknown' });
    expect(r.onReadReply(10, 'c', { kind: 'error', reason: 'TIMEOUT' })).toEqual([
      { kind: 'retry-read-later', entryId: 10 },
    ]);
    expect(kinds(r.retryRead(10))).toEqual(['read', 'read']);
    r.onReadReply(10, 'd', { kind: 'unknown' });
    const failed = r.onReadReply(10, 'c', { kind: 'unknown' });
    expect(failed[0].kind === 'failed' && failed[0].failure.code).toBe('RECOVERY_FAILED');
  });

  it('defect switches: no fence on reads; start at the fenced LAC only', () => {
    const r = new LedgerRecovery({
      meta,
      readWindow: 1,
      readAttemptsMax: 2,
      defects: { recoveryReadsDoNotFence: true, recoveryIgnoresLastFragment: true },
    });
    r.start();
    r.onFenceReply('a', { kind: 'answered', lac: 2 });
    const effects = r.onFenceReply('c', { kind: 'answered', lac: 2 });
    expect(r.startPoint).toBe(2);
    expect(effects[1]).toEqual({ kind: 'read', entryId: 3, bookieId: 'a', fence: false });
  });
});
