import { describe, expect, it } from 'vitest';
import { remainingAfter } from './files.ts';

describe('journal writes continue after a short write', () => {
  const bufs = [Buffer.from('abc'), Buffer.from(''), Buffer.from('defg'), Buffer.from('h')];
  const text = (b: Buffer[]) => Buffer.concat(b).toString();

  it('resumes mid-buffer, at a boundary, past empty buffers, and stops when all went out', () => {
    expect(text(remainingAfter(bufs, 1))).toBe('bcdefgh');
    expect(text(remainingAfter(bufs, 3))).toBe('defgh');
    expect(text(remainingAfter(bufs, 5))).toBe('fgh');
    expect(remainingAfter(bufs, 8)).toEqual([]);
  });

  it('refuses a write that made no progress (it would loop forever)', () => {
    expect(() => remainingAfter(bufs, 0)).toThrow(/no progress/);
  });
});
