import { describe, expect, it } from 'vitest';
import { chooseActive } from './selectors.ts';
import { type LogEntry, ModelCursor, makeLog, rng } from './sim.test-helpers.ts';
import { SingleActiveDispatcher, type SingleActiveEffect } from './single-active-dispatcher.ts';
import type { Delivery } from './types.ts';

/** An Exclusive dispatcher for a non-partitioned topic, reading 10 at a time, no failover delay. */
function dispatcher(opts: { exclusive?: boolean; maxReadBatch?: number; failoverDelayMs?: number } = {}) {
  return new SingleActiveDispatcher({
    exclusive: opts.exclusive ?? true,
    partitionIndex: -1,
    maxReadBatch: opts.maxReadBatch ?? 10,
    failoverDelayMs: opts.failoverDelayMs ?? 0,
  });
}

/** `n` single-message entries, all published. */
function publishedLog(n: number, seed: number): { log: LogEntry[]; cursor: ModelCursor } {
  const log = makeLog(n, 1, rng(seed), 1);
  const cursor = new ModelCursor(log);
  cursor.published = n;
  return { log, cursor };
}

function apply(effects: readonly SingleActiveEffect[], cursor: ModelCursor): void {
  for (const e of effects) {
    if (e.kind === 'rewind') cursor.rewind();
    else if (e.kind === 'seek') cursor.seek(e.position);
  }
}

function step(d: SingleActiveDispatcher, cursor: ModelCursor, now = 0): Delivery[] {
  apply(d.takeEffects(), cursor);
  const plan = d.planRead(now);
  if (plan.kind !== 'read') return [];
  const out = d.dispatch(cursor.read(plan.maxEntries), now);
  apply(d.takeEffects(), cursor);
  return out;
}

describe('failover choice', () => {
  const cs = [
    { id: 1, name: 'b', priority: 0 },
    { id: 2, name: 'a', priority: 0 },
    { id: 3, name: 'c', priority: 1 },
  ];
  it('takes the best priority, then the smallest name', () => {
    expect(chooseActive(cs, -1)?.id).toBe(2);
    expect(chooseActive([cs[2]], -1)?.id).toBe(3);
  });
  it('spreads partitions over the best priority level', () => {
    expect([0, 1, 2, 3].map((p) => chooseActive(cs, p)?.id)).toEqual([2, 1, 2, 1]);
  });
});

describe('Exclusive dispatcher', () => {
  it('refuses a second consumer', () => {
    const d = dispatcher();
    expect(d.addConsumer({ id: 1, name: 'a', priority: 0 }, 0).ok).toBe(true);
    expect(d.addConsumer({ id: 2, name: 'b', priority: 0 }, 0)).toMatchObject({
      ok: false,
      code: 'CONSUMER_BUSY',
    });
    d.removeConsumer(1, 0);
    expect(d.addConsumer({ id: 2, name: 'b', priority: 0 }, 0).ok).toBe(true);
  });

  it('rewinds on redelivery and counts redeliveries', () => {
    const { log, cursor } = publishedLog(5, 1);
    const d = dispatcher();
    d.addConsumer({ id: 1, name: 'a', priority: 0 }, 0);
    d.flow(1, 100);
    expect(step(d, cursor).map((x) => x.entry.position.entryId)).toEqual([0, 1, 2, 3, 4]);
    cursor.acked.add(0);
    d.acked([log[0].position]);
    d.redeliver(1);
    expect(step(d, cursor).map((x) => [x.entry.position.entryId, x.redeliveryCount])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
    ]);
  });

  it('stops at the permits and reads the rest again later', () => {
    const { cursor } = publishedLog(6, 2);
    const d = dispatcher();
    d.addConsumer({ id: 1, name: 'a', priority: 0 }, 0);
    d.flow(1, 2);
    expect(step(d, cursor).map((x) => x.entry.position.entryId)).toEqual([0, 1]);
    expect(step(d, cursor)).toEqual([]);
    d.flow(1, 10);
    expect(step(d, cursor).map((x) => x.entry.position.entryId)).toEqual([2, 3, 4, 5]);
  });
});

describe('undelivered entries', () => {
  it('are read again from the first one that could not be written', () => {
    const { cursor } = publishedLog(4, 4);
    const d = dispatcher();
    d.addConsumer({ id: 1, name: 'a', priority: 0 }, 0);
    d.flow(1, 4);
    const sent = step(d, cursor);
    d.undeliver(1, sent[2].entry.position);
    expect(d.consumerStats(1)).toMatchObject({ permits: 2, pendingEntries: 2 });
    expect(step(d, cursor).map((x) => [x.entry.position.entryId, x.redeliveryCount])).toEqual([
      [2, 0],
      [3, 0],
    ]);
  });
});

describe('Failover dispatcher', () => {
  it('announces the active consumer, switches on close and resends unacked entries', () => {
    const { log, cursor } = publishedLog(4, 3);
    const d = dispatcher({ exclusive: false });
    d.addConsumer({ id: 1, name: 'a', priority: 0 }, 0);
    expect(d.takeEffects()).toEqual([{ kind: 'active-changed', activeId: 1, consumerIds: [1] }]);
    d.addConsumer({ id: 2, name: 'b', priority: 0 }, 0);
    expect(d.takeEffects()).toEqual([{ kind: 'active-changed', activeId: 1, consumerIds: [2] }]);
    d.flow(1, 10);
    d.flow(2, 10);
    expect(step(d, cursor).every((x) => x.consumerId === 1)).toBe(true);
    cursor.acked.add(0);
    d.acked([log[0].position]);
    d.removeConsumer(1, 0);
    const effects = d.takeEffects();
    expect(effects).toContainEqual({ kind: 'rewind' });
    expect(effects).toContainEqual({ kind: 'active-changed', activeId: 2, consumerIds: [2] });
    apply(effects, cursor);
    expect(step(d, cursor).map((x) => [x.consumerId, x.entry.position.entryId, x.redeliveryCount])).toEqual([
      [2, 1, 1],
      [2, 2, 1],
      [2, 3, 1],
    ]);
  });

  it('waits the failover delay when a better consumer joins', () => {
    const d = dispatcher({ exclusive: false, failoverDelayMs: 1000 });
    d.addConsumer({ id: 1, name: 'b', priority: 0 }, 0);
    d.flow(1, 10);
    d.takeEffects();
    d.addConsumer({ id: 2, name: 'a', priority: 0 }, 500);
    d.flow(2, 10);
    const effects = d.takeEffects();
    expect(effects).toContainEqual({ kind: 'resume-at', atMs: 1500 });
    expect(d.active).toBe(2);
    expect(d.planRead(1499).kind).toBe('idle');
    expect(d.planRead(1500).kind).toBe('read');
  });

  for (const seed of [31, 32, 33, 34, 35]) {
    it(`delivers in cursor order to the active consumer only, nothing lost (seed ${seed})`, () => {
      const random = rng(seed);
      const log = makeLog(300, 1, random, 3);
      const cursor = new ModelCursor(log);
      const d = dispatcher({ exclusive: false, maxReadBatch: 7 });
      let nextId = 1;
      const inbox = new Map<number, LogEntry[]>();
      const join = () => {
        const id = nextId++;
        d.addConsumer({ id, name: `c${Math.floor(random() * 100)}`, priority: Math.floor(random() * 2) }, 0);
        inbox.set(id, []);
        d.flow(id, 20);
      };
      join();
      for (let round = 0; round < 5000 && cursor.acked.size < log.length; round++) {
        const r = random();
        if (r < 0.3) cursor.published = Math.min(log.length, cursor.published + 1 + Math.floor(random() * 4));
        if (r > 0.97 && inbox.size < 4) join();
        if (r > 0.95 && r <= 0.97 && inbox.size > 1) {
          const ids = [...inbox.keys()];
          const id = ids[Math.floor(random() * ids.length)];
          d.removeConsumer(id, 0);
          inbox.delete(id);
        }
        if (r > 0.93 && r <= 0.95 && d.active !== undefined) {
          d.redeliver(d.active);
          inbox.set(d.active, []);
        }
        const got = step(d, cursor);
        for (const x of got) {
          expect(x.consumerId).toBe(d.active);
          const box = inbox.get(x.consumerId)!;
          const last = box[box.length - 1];
          if (last && x.redeliveryCount === 0)
            expect((x.entry as LogEntry).index).toBeGreaterThan(last.index);
          box.push(x.entry as LogEntry);
        }
        // the active consumer acks its oldest message; the others drop what they held (switch)
        for (const [id, box] of inbox) {
          if (id !== d.active) {
            box.length = 0;
            continue;
          }
          if (box.length > 0 && random() < 0.7) {
            const e = box.shift()!;
            cursor.acked.add(e.index);
            d.acked([e.position]);
            d.flow(id, e.numMessages);
          }
        }
      }
      expect(cursor.acked.size).toBe(log.length);
    });
  }
});
