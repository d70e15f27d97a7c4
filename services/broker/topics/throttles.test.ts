import { describe, expect, it } from 'vitest';
import { PublishThrottle, SubscribeRateGate } from './throttles.ts';
import type { ProducerEndpoint } from './topic.ts';

function producer(): ProducerEndpoint & { paused: boolean } {
  const p = {
    paused: false,
    throttle(on: boolean) {
      p.paused = on;
    },
  };
  return p as unknown as ProducerEndpoint & { paused: boolean };
}

describe('PublishThrottle', () => {
  it('pauses every producer once over the rate and resumes them after the refill', async () => {
    const a = producer();
    const b = producer();
    const t = new PublishThrottle({ msgs: 2, bytes: 0, periodMs: 100 }, () => [a, b]);
    t.record(1, 10);
    expect(a.paused).toBe(false);
    t.record(1, 10);
    expect([a.paused, b.paused]).toEqual([true, true]);
    expect(t.throttledTotal).toBe(1);
    // A producer joining meanwhile waits too; one leaving is resumed.
    const c = producer();
    t.added(c);
    expect(c.paused).toBe(true);
    t.removed(b);
    expect(b.paused).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect([a.paused, c.paused]).toEqual([false, false]);
    t.close();
  });

  it('does nothing without a limit, and lifting the limit resumes at once', () => {
    const a = producer();
    const t = new PublishThrottle({ msgs: 0, bytes: 0, periodMs: 1000 }, () => [a]);
    for (let i = 0; i < 1000; i++) t.record(1, 1000);
    expect(a.paused).toBe(false);
    t.update({ msgs: 1, bytes: 0, periodMs: 60_000 });
    t.record(1, 1);
    expect(a.paused).toBe(true);
    t.update({ msgs: -1, bytes: -1, periodMs: 1000 });
    expect(a.paused).toBe(false);
    t.close();
  });
});

describe('SubscribeRateGate', () => {
  it('limits subscribes per host and consumer name, with a bounded number of identities', () => {
    const g = new SubscribeRateGate('t', { msgs: 2, bytes: 0, periodMs: 60_000 }, 2);
    g.admit('10.0.0.1:5000', 'c');
    g.admit('10.0.0.1:5001', 'c'); // same host, another port: the same consumer identity
    expect(() => g.admit('10.0.0.1:5002', 'c')).toThrow(
      expect.objectContaining({ code: 'SUBSCRIBE_RATE_EXCEEDED' }),
    );
    g.admit('10.0.0.2:5000', 'c');
    g.admit('10.0.0.1:5000', 'd');
    // Only two identities are tracked: the least recently used one was forgotten (fresh budget).
    g.admit('10.0.0.1:5000', 'c');
    g.update({ msgs: 0, bytes: 0, periodMs: 1000 });
    for (let i = 0; i < 10; i++) g.admit('10.0.0.1:5000', 'c');
  });
});
