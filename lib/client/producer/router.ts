/**
 * Partition routing, compatible with the official Java client
 * (RoundRobinPartitionMessageRouterImpl / SinglePartitionMessageRouterImpl, MathUtils.signSafeMod):
 *  - a message with a key goes to signSafeMod(hash(key), n), where hash is murmur3_32 of the key's
 *    UTF-8 bytes & 0x7fffffff (Java's Murmur3_32Hash scheme; also the Key_Shared hash) or Java's
 *    String.hashCode() & 0x7fffffff (its JavaStringHash scheme, the Java client's default);
 *  - without a key, round robin: with batching, the partition changes every partitionSwitchMs
 *    (signSafeMod(now / partitionSwitchMs + start, n)) so batches fill up; without batching, one
 *    partition after the other from a random start.
 */
import { murmur3_32 } from '../../wire/hash.ts';
import type { HashingScheme } from '../options.ts';

export function signSafeMod(dividend: number, divisor: number): number {
  const mod = dividend % divisor;
  return mod < 0 ? mod + divisor : mod + 0; // + 0 turns -0 into 0
}

/** Java's String.hashCode() (over UTF-16 code units) masked to 31 bits. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h & 0x7fffffff;
}

export function murmur3KeyHash(s: string): number {
  return murmur3_32(Buffer.from(s, 'utf8')) & 0x7fffffff;
}

export function keyHash(scheme: HashingScheme, key: string): number {
  return scheme === 'java-string' ? javaStringHash(key) : murmur3KeyHash(key);
}

export interface PartitionRouter {
  choose(key: string | undefined, numPartitions: number): number;
}

export class RoundRobinRouter implements PartitionRouter {
  private readonly scheme: HashingScheme;
  private readonly start: number;
  private readonly batching: boolean;
  private readonly switchMs: number;
  private readonly now: () => number;
  private counter: number;

  constructor(
    scheme: HashingScheme,
    start: number,
    batching: boolean,
    partitionSwitchMs: number,
    now = Date.now,
  ) {
    this.scheme = scheme;
    this.start = start;
    this.batching = batching;
    this.switchMs = Math.max(1, partitionSwitchMs);
    this.now = now;
    this.counter = start;
  }

  choose(key: string | undefined, numPartitions: number): number {
    if (key !== undefined) return signSafeMod(keyHash(this.scheme, key), numPartitions);
    if (this.batching) return signSafeMod(Math.floor(this.now() / this.switchMs) + this.start, numPartitions);
    return signSafeMod(this.counter++, numPartitions);
  }
}

export class SinglePartitionRouter implements PartitionRouter {
  private readonly scheme: HashingScheme;
  private readonly partition: number;

  constructor(scheme: HashingScheme, partition: number) {
    this.scheme = scheme;
    this.partition = partition;
  }

  choose(key: string | undefined, numPartitions: number): number {
    if (key !== undefined) return signSafeMod(keyHash(this.scheme, key), numPartitions);
    return signSafeMod(this.partition, numPartitions);
  }
}
