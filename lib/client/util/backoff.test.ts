import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';

describe('Backoff', () => {
  it('doubles up to the cap, with jitter below 10 %, and resets', () => {
    const b = new Backoff(100, 1000, () => 0);
    expect([1, 2, 3, 4, 5, 6].map(() => b.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(b.attempts).toBe(6);
    b.reset();
    expect(b.next()).toBe(100);
    const j = new Backoff(100, 1000, () => 0.999);
    expect(j.next()).toBe(91);
  });

  it('refuses inverted bounds', () => {
    expect(() => new Backoff(10, 5)).toThrow();
  });
});
