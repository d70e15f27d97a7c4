import { describe, expect, it } from 'vitest';
import { EntryReadOp, QuorumLacOp, RecoveryReadOp } from './quorum-ops.ts';

const q = (ensembleSize: number, writeQuorum: number, ackQuorum: number) => ({
  ensembleSize,
  writeQuorum,
  ackQuorum,
});
const found = { kind: 'found', body: new Uint8Array([1]) } as const;

describe('QuorumLacOp', () => {
  it('concludes with the max LAC once covered, ignoring errors', () => {
    const op = new QuorumLacOp(['a', 'b', 'c'], q(3, 3, 2));
    expect(op.onReply('a', { kind: 'answered', lac: 4 }).kind).toBe('pending');
    expect(op.onReply('b', { kind: 'error' }).kind).toBe('pending');
    expect(op.onReply('c', { kind: 'answered', lac: 7 })).toEqual({ kind: 'covered', maxLac: 7 });
  });

  it('fails when every bookie answered and coverage is missing', () => {
    const op = new QuorumLacOp(['a', 'b', 'c'], q(3, 3, 2));
    op.onReply('a', { kind: 'answered', lac: 1 });
    op.onReply('b', { kind: 'error' });
    expect(op.onReply('c', { kind: 'error' })).toEqual({ kind: 'failed', answered: 1, errors: 2 });
  });
});

describe('EntryReadOp', () => {
  it('asks the next bookie after the speculative delay and takes the first body', () => {
    const op = new EntryReadOp(5, ['a', 'b', 'c']);
    expect(op.start()).toEqual([{ kind: 'send', bookieId: 'a' }, { kind: 'arm-speculative-timer' }]);
    expect(op.onSpeculativeTimeout()).toEqual([
      { kind: 'send', bookieId: 'b' },
      { kind: 'arm-speculative-timer' },
    ]);
    expect(op.onReply('b', found)).toEqual([found]);
    expect(op.onReply('a', found)).toEqual([]);
  });

  it('moves on at once after an error, and reports corruption when nothing is good', () => {
    const op = new EntryReadOp(5, ['a', 'b']);
    op.start();
    expect(op.onReply('a', { kind: 'corrupt', problem: 'digest-mismatch' })).toEqual([
      { kind: 'send', bookieId: 'b' },
    ]);
    const end = op.onReply('b', { kind: 'absent' });
    expect(end).toEqual([{ kind: 'failed', reason: 'a: corrupt, b: absent', corrupt: true }]);
  });
});

describe('RecoveryReadOp', () => {
  it('needs Qw - Qa + 1 NO_ENTRY answers to call an entry absent', () => {
    const op = new RecoveryReadOp(3, ['a', 'b', 'c'], q(3, 3, 2));
    expect(op.onReply('a', { kind: 'absent' }).kind).toBe('pending');
    expect(op.onReply('b', { kind: 'absent' }).kind).toBe('absent');
  });

  it('never counts UNKNOWN as absent (unless the defect switch is on)', () => {
    const op = new RecoveryReadOp(3, ['a', 'b', 'c'], q(3, 3, 2));
    op.onReply('a', { kind: 'unknown' });
    op.onReply('b', { kind: 'absent' });
    expect(op.onReply('c', { kind: 'error', reason: 'TIMEOUT' }).kind).toBe('undecided');
    const defective = new RecoveryReadOp(3, ['a', 'b', 'c'], q(3, 3, 2), true);
    defective.onReply('a', { kind: 'unknown' });
    expect(defective.onReply('b', { kind: 'absent' }).kind).toBe('absent');
  });

  it('is found as soon as one bookie has a valid copy', () => {
    const op = new RecoveryReadOp(3, ['a', 'b'], q(2, 2, 2));
    expect(op.onReply('b', found)).toEqual(found);
  });
});
