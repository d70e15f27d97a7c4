/**
 * Producer deduplication state (internals.md §4.6), pure. Two maps keyed by producer name:
 * `pushed` (highest sequence id accepted for writing) and `persisted` (highest one confirmed
 * stored). For an incoming (producer, sequenceId):
 *   sequenceId ≤ pushed and ≤ persisted → duplicate (answered without writing)
 *   sequenceId ≤ pushed but > persisted  → unknown (still being written; the client retries)
 *   otherwise                            → accept (pushed := max(sequenceId, highestSequenceId))
 * A failed write resets `pushed` to `persisted` so a resend is accepted. The persisted map is
 * what snapshots carry; recovery = snapshot + replay of the entries after it.
 * Bounded: at most `maxProducers` names (least recently seen forgotten first), and names unseen
 * for `inactivityMs` are forgotten by `purge`.
 */

export type DedupVerdict = 'accept' | 'duplicate' | 'unknown';

export class DedupState {
  private readonly maxProducers: number;
  private readonly inactivityMs: number;
  /** Insertion order = least recently seen first (touch = delete + set). */
  private readonly pushed = new Map<string, number>();
  private readonly persisted = new Map<string, number>();
  private readonly lastSeenMs = new Map<string, number>();

  constructor(maxProducers: number, inactivityMs: number) {
    this.maxProducers = maxProducers;
    this.inactivityMs = inactivityMs;
  }

  get producerCount(): number {
    return this.lastSeenMs.size;
  }

  check(producer: string, sequenceId: number, highestSequenceId: number, nowMs: number): DedupVerdict {
    this.touch(producer, nowMs);
    const pushed = this.pushed.get(producer);
    if (pushed !== undefined && sequenceId <= pushed) {
      const persisted = this.persisted.get(producer);
      return persisted !== undefined && sequenceId <= persisted ? 'duplicate' : 'unknown';
    }
    this.pushed.set(producer, Math.max(sequenceId, highestSequenceId));
    return 'accept';
  }

  persistedOk(producer: string, highestSequenceId: number): void {
    const prev = this.persisted.get(producer);
    if (prev === undefined || highestSequenceId > prev) this.persisted.set(producer, highestSequenceId);
  }

  persistFailed(producer: string): void {
    const persisted = this.persisted.get(producer);
    if (persisted === undefined) this.pushed.delete(producer);
    else this.pushed.set(producer, persisted);
  }

  /** Highest persisted sequence id of a producer, or −1 (PRODUCER_SUCCESS.last_sequence_id). */
  lastPersisted(producer: string): number {
    return this.persisted.get(producer) ?? -1;
  }

  /** Recovery: a snapshot, then every entry stored after it, in order. */
  restore(snapshot: Readonly<Record<string, bigint>>, nowMs: number): void {
    for (const [producer, seq] of Object.entries(snapshot)) this.recordStored(producer, Number(seq), nowMs);
  }

  recordStored(producer: string, highestSequenceId: number, nowMs: number): void {
    this.touch(producer, nowMs);
    const pushed = this.pushed.get(producer);
    if (pushed === undefined || highestSequenceId > pushed) this.pushed.set(producer, highestSequenceId);
    this.persistedOk(producer, highestSequenceId);
  }

  /** The persisted map, for a snapshot. */
  snapshot(): Record<string, bigint> {
    const out: Record<string, bigint> = {};
    for (const [p, seq] of this.persisted) out[p] = BigInt(seq);
    return out;
  }

  /** Forget producers unseen for longer than the inactivity limit. Returns how many. */
  purge(nowMs: number): number {
    let n = 0;
    for (const [producer, seen] of this.lastSeenMs) {
      if (nowMs - seen <= this.inactivityMs) break;
      this.forget(producer);
      n++;
    }
    return n;
  }

  private touch(producer: string, nowMs: number): void {
    this.lastSeenMs.delete(producer);
    this.lastSeenMs.set(producer, nowMs);
    while (this.lastSeenMs.size > this.maxProducers) {
      const oldest = this.lastSeenMs.keys().next().value as string;
      this.forget(oldest);
    }
  }

  private forget(producer: string): void {
    this.lastSeenMs.delete(producer);
    this.pushed.delete(producer);
    this.persisted.delete(producer);
  }
}
