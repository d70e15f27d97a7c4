import { describe, expect, it } from 'vitest';
import { ProducerSet } from './producer-set.ts';
import type { AccessMode, ProducerEndpoint } from './topic.ts';

let id = 0;
function producer(name: string, accessMode: AccessMode, alive = true): ProducerEndpoint {
  return {
    id: ++id,
    producerId: BigInt(id),
    name,
    generatedName: false,
    accessMode,
    metadata: {},
    client: {
      connectionId: 1,
      address: 'x',
      clientVersion: 'v',
      protocolVersion: 19,
      connectedSince: '',
      alive,
    },
    closeByBroker: () => undefined,
    throttle: () => undefined,
    stats: () => ({}) as never,
  };
}

describe('ProducerSet', () => {
  it('keeps names unique but replaces attachments of dead connections', () => {
    const s = new ProducerSet();
    expect(s.add(producer('a', 'Shared'), 10).ok).toBe(true);
    expect(s.add(producer('a', 'Shared'), 10)).toMatchObject({ ok: false, code: 'PRODUCER_NAME_BUSY' });
    const s2 = new ProducerSet();
    s2.add(producer('a', 'Shared', false), 10);
    expect(s2.add(producer('a', 'Shared'), 10).ok).toBe(true);
    expect(s2.size).toBe(1);
  });

  it('applies access modes and the producer limit', () => {
    const s = new ProducerSet();
    const shared = producer('s', 'Shared');
    s.add(shared, 10);
    expect(s.add(producer('e', 'Exclusive'), 10)).toMatchObject({ ok: false, code: 'PRODUCER_FENCED' });
    const waiter = producer('w', 'WaitForExclusive');
    expect(s.add(waiter, 10)).toMatchObject({ ok: true, waiting: true });
    expect(s.add(producer('s2', 'Shared'), 10).ok).toBe(true);
    expect(s.remove(shared)).toEqual([]);
    const rest = s.all()[0];
    expect(s.remove(rest)).toEqual([waiter]);
    expect(s.add(producer('s3', 'Shared'), 10)).toMatchObject({ ok: false, code: 'PRODUCER_FENCED' });
    const fencer = producer('f', 'ExclusiveWithFencing');
    expect(s.add(fencer, 10)).toMatchObject({ ok: true, fenced: [waiter] });
    const limited = new ProducerSet();
    limited.add(producer('x', 'Shared'), 1);
    expect(limited.add(producer('y', 'Shared'), 1)).toMatchObject({ ok: false, code: 'TOO_MANY_PRODUCERS' });
  });
});
