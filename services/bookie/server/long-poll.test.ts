import { describe, expect, it } from 'vitest';
import { LacWaiters } from './long-poll.ts';

describe('LAC long polls', () => {
  it('wake when the LAC passes previousLac, on delete, on close, on timeout; bounded in number', async () => {
    const w = new LacWaiters(3);
    const a = w.wait(1, 5, 10_000);
    const b = w.wait(1, 7, 10_000);
    const c = w.wait(2, -1, 10_000);
    expect(() => w.wait(3, 0, 10)).toThrow(/TOO_MANY_REQUESTS/);
    w.advanced(1, 5);
    w.advanced(1, 6);
    expect(await a.ended).toBe('advanced');
    expect(w.count).toBe(2);
    w.deleted(2);
    expect(await c.ended).toBe('deleted');
    const d = w.wait(4, 0, 20);
    expect(await d.ended).toBe('timeout');
    const e = w.wait(4, 0, 10_000);
    e.cancel();
    expect(await e.ended).toBe('cancelled');
    w.closeAll();
    expect(await b.ended).toBe('closed');
    expect(w.count).toBe(0);
    expect(() => w.wait(1, 0, 10)).toThrow(/SHUTTING_DOWN/);
  });
});
