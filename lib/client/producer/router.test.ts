import { describe, expect, it } from 'vitest';
import { murmur3_32 } from '../../wire/hash.ts';
import {
  javaStringHash,
  keyHash,
  murmur3KeyHash,
  RoundRobinRouter,
  SinglePartitionRouter,
  signSafeMod,
} from './router.ts';

describe('partition routing (Java client rules)', () => {
  it('signSafeMod never returns a negative partition', () => {
    expect(signSafeMod(-7, 3)).toBe(2);
    expect(signSafeMod(7, 3)).toBe(1);
    expect(signSafeMod(-3, 3)).toBe(0);
  });

  it('hashes keys like Java: String.hashCode and Murmur3_32Hash, masked to 31 bits', () => {
    expect(javaStringHash('hello')).toBe(99162322); // "hello".hashCode()
    expect(javaStringHash('')).toBe(0);
    // a hash whose 32-bit value is negative in Java is masked, not negated
    const long = 'polygenelubricants';
    expect(javaStringHash(long)).toBe((-2147483648 & 0x7fffffff) >>> 0);
    expect(murmur3_32(Buffer.from('hello'))).toBe(0x248bfa47); // reference vector, seed 0
    expect(murmur3KeyHash('hello')).toBe(0x248bfa47 & 0x7fffffff);
    expect(keyHash('java-string', 'hello')).toBe(99162322);
  });

  it('routes keyed messages by hash mod partitions, whatever the mode', () => {
    const rr = new RoundRobinRouter('murmur3_32', 0, true, 100, () => 0);
    const single = new SinglePartitionRouter('murmur3_32', 3);
    for (const key of ['a', 'order-17', 'ключ', '']) {
      const expected = signSafeMod(murmur3KeyHash(key), 7);
      expect(rr.choose(key, 7)).toBe(expected);
      expect(single.choose(key, 7)).toBe(expected);
    }
  });

  it('round robin without batching walks the partitions from the start index', () => {
    const r = new RoundRobinRouter('murmur3_32', 2, false, 100);
    expect([0, 1, 2, 3, 4].map(() => r.choose(undefined, 4))).toEqual([2, 3, 0, 1, 2]);
  });

  it('round robin with batching switches partition every partitionSwitchMs', () => {
    let now = 1000;
    const r = new RoundRobinRouter('murmur3_32', 1, true, 100, () => now);
    const first = r.choose(undefined, 3);
    expect(r.choose(undefined, 3)).toBe(first);
    now += 99;
    expect(r.choose(undefined, 3)).toBe(signSafeMod(Math.floor(1099 / 100) + 1, 3));
    now = 1100;
    expect(r.choose(undefined, 3)).toBe(signSafeMod(11 + 1, 3));
    now = 1200;
    expect(r.choose(undefined, 3)).toBe(signSafeMod(12 + 1, 3));
  });

  it('single-partition mode sends unkeyed messages to one partition', () => {
    const r = new SinglePartitionRouter('java-string', 5);
    expect(new Set([1, 2, 3].map(() => r.choose(undefined, 4)))).toEqual(new Set([1]));
  });
});
