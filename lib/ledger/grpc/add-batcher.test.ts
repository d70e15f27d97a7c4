import { describe, expect, it } from 'vitest';
import { AddBatcher } from './add-batcher.ts';

function harness(countMax: number, bytesMax: number) {
  const ticks: (() => void)[] = [];
  const sent: number[][] = [];
  const b = new AddBatcher<number>({
    countMax,
    bytesMax,
    nextTick: (fn) => ticks.push(fn),
    send: (batch) => sent.push(batch),
  });
  const runTicks = () => {
    while (ticks.length) ticks.shift()!();
  };
  return { b, sent, runTicks };
}

describe('AddBatcher', () => {
  it('sends what accumulated in one turn as one message on the next tick', () => {
    const { b, sent, runTicks } = harness(100, 1 << 20);
    for (let i = 0; i < 5; i++) b.add(i, 10);
    expect(sent).toEqual([]);
    runTicks();
    expect(sent).toEqual([[0, 1, 2, 3, 4]]);
    runTicks();
    expect(sent.length).toBe(1);
  });

  it('flushes at once on the count bound and on the byte bound', () => {
    const { b, sent, runTicks } = harness(3, 100);
    for (let i = 0; i < 7; i++) b.add(i, 1);
    expect(sent).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    b.add(7, 200);
    expect(sent[2]).toEqual([6, 7]);
    runTicks();
    expect(sent.length).toBe(3);
    expect(b.batchesSent).toBe(3);
  });

  it('drains unsent items', () => {
    const { b, sent } = harness(10, 1000);
    b.add(1, 1);
    b.add(2, 1);
    expect(b.drain()).toEqual([1, 2]);
    b.flush();
    expect(sent).toEqual([]);
  });
});
