/**
 * The producers of one topic and their access modes (pulsar-protocol.md §2.7), pure:
 *  - Shared: any number, unless an exclusive producer holds the topic (PRODUCER_FENCED).
 *  - Exclusive: only when no other producer is attached (PRODUCER_FENCED otherwise).
 *  - ExclusiveWithFencing: takes the topic, closing every other producer.
 *  - WaitForExclusive: exclusive at once when the topic is free, else queued; the first waiter
 *    is promoted when the topic becomes free.
 * Producer names are unique per topic (PRODUCER_NAME_BUSY), except that an attachment whose
 * connection is gone is replaced.
 */
import type { ProducerEndpoint } from './topic.ts';

export type AddDecision =
  | { readonly ok: true; readonly waiting: boolean; readonly fenced: readonly ProducerEndpoint[] }
  | {
      readonly ok: false;
      readonly code: 'PRODUCER_NAME_BUSY' | 'PRODUCER_FENCED' | 'TOO_MANY_PRODUCERS';
      readonly details: Record<string, unknown>;
    };

export class ProducerSet {
  private readonly active = new Map<number, ProducerEndpoint>();
  private readonly waiters: ProducerEndpoint[] = [];
  private exclusiveId: number | undefined;

  get size(): number {
    return this.active.size;
  }

  all(): ProducerEndpoint[] {
    return [...this.active.values()];
  }

  waiting(): ProducerEndpoint[] {
    return [...this.waiters];
  }

  /** Decide on a new producer; on success it is recorded (active or waiting). */
  add(p: ProducerEndpoint, maxProducers: number): AddDecision {
    const stale: ProducerEndpoint[] = [];
    for (const other of [...this.active.values(), ...this.waiters]) {
      if (other.name !== p.name) continue;
      if (other.client.alive) return { ok: false, code: 'PRODUCER_NAME_BUSY', details: { name: p.name } };
      stale.push(other);
    }
    for (const s of stale) this.remove(s);
    const holder = this.exclusiveId === undefined ? undefined : this.active.get(this.exclusiveId);
    const fenced = (requested: string) =>
      ({
        ok: false,
        code: 'PRODUCER_FENCED',
        details: { mode: holder ? holder.accessMode : 'active', requested },
      }) as const;
    switch (p.accessMode) {
      case 'Shared':
        if (holder) return fenced('Shared');
        if (this.active.size >= maxProducers) return tooMany(this.active.size, maxProducers);
        this.active.set(p.id, p);
        return { ok: true, waiting: false, fenced: [] };
      case 'Exclusive':
        if (this.active.size > 0) return fenced('Exclusive');
        this.take(p);
        return { ok: true, waiting: false, fenced: [] };
      case 'ExclusiveWithFencing': {
        const others = [...this.active.values()];
        this.active.clear();
        this.take(p);
        return { ok: true, waiting: false, fenced: others };
      }
      case 'WaitForExclusive':
        if (this.active.size === 0 && this.waiters.length === 0) {
          this.take(p);
          return { ok: true, waiting: false, fenced: [] };
        }
        this.waiters.push(p);
        return { ok: true, waiting: true, fenced: [] };
    }
  }

  /** Remove a producer; returns waiters promoted to exclusive because the topic became free. */
  remove(p: ProducerEndpoint): ProducerEndpoint[] {
    const w = this.waiters.indexOf(p);
    if (w >= 0) this.waiters.splice(w, 1);
    if (!this.active.delete(p.id)) return [];
    if (this.exclusiveId === p.id) this.exclusiveId = undefined;
    return this.promote();
  }

  isActive(p: ProducerEndpoint): boolean {
    return this.active.get(p.id) === p;
  }

  private take(p: ProducerEndpoint): void {
    this.active.set(p.id, p);
    this.exclusiveId = p.id;
  }

  private promote(): ProducerEndpoint[] {
    if (this.active.size > 0 || this.waiters.length === 0) return [];
    const next = this.waiters.shift()!;
    this.take(next);
    return [next];
  }
}

function tooMany(count: number, max: number): AddDecision {
  return { ok: false, code: 'TOO_MANY_PRODUCERS', details: { count, max } };
}
