/**
 * Simulated nodes and the network between them: random delays (with rare long spikes), message
 * loss, and partitions between pairs of nodes. A message to a crashed node is refused (the sender
 * learns it quickly, like a TCP reset); a message across a partition or lost on the way simply
 * never arrives (the sender's timeouts must cope).
 */
import type { Rng } from './rng.ts';
import type { Scheduler } from './scheduler.ts';

export class SimNode {
  readonly id: string;
  alive = true;
  /** Bumped on every crash: events of an earlier life are dropped. */
  incarnation = 0;

  constructor(id: string) {
    this.id = id;
  }

  crash(): void {
    this.alive = false;
    this.incarnation++;
  }

  restart(): void {
    this.alive = true;
  }
}

export interface NetworkFaults {
  lossProbability: number;
  minDelayMs: number;
  maxDelayMs: number;
  spikeProbability: number;
  spikeDelayMs: number;
}

export const calmNetwork: NetworkFaults = {
  lossProbability: 0,
  minDelayMs: 0.05,
  maxDelayMs: 0.5,
  spikeProbability: 0,
  spikeDelayMs: 0,
};

export class SimNetwork {
  readonly #sched: Scheduler;
  readonly #rng: Rng;
  faults: NetworkFaults;
  readonly #cut = new Set<string>();
  /**
   * Scripted scenarios: decide the fate of one message: 'drop' it, delay it by a number of
   * extra milliseconds, or let it through ('pass' / undefined).
   */
  script: ((from: string, to: string, what: string) => 'drop' | 'pass' | number | undefined) | undefined;

  constructor(sched: Scheduler, rng: Rng, faults: NetworkFaults) {
    this.#sched = sched;
    this.#rng = rng;
    this.faults = faults;
  }

  partition(a: string, b: string): void {
    this.#cut.add(pairKey(a, b));
  }

  heal(a: string, b: string): void {
    this.#cut.delete(pairKey(a, b));
  }

  healAll(): void {
    this.#cut.clear();
  }

  isCut(a: string, b: string): boolean {
    return this.#cut.has(pairKey(a, b));
  }

  delayMs(): number {
    const f = this.faults;
    const base = f.minDelayMs + this.#rng.next() * (f.maxDelayMs - f.minDelayMs);
    return this.#rng.chance(f.spikeProbability) ? base + this.#rng.next() * f.spikeDelayMs : base;
  }

  /**
   * Send `what` from `from` to `to`. On arrival `arrive()` runs at the receiver; if the receiver
   * is down, `refused()` runs back at the sender (if it is still alive) after another delay.
   */
  send(from: SimNode, to: SimNode, what: string, arrive: () => void, refused?: () => void): void {
    const fate = this.script?.(from.id, to.id, what);
    if (fate === 'drop') return;
    if (this.isCut(from.id, to.id) || this.#rng.chance(this.faults.lossProbability)) return;
    const toLife = to.incarnation;
    const extraMs = typeof fate === 'number' ? fate : 0;
    this.#sched.schedule(this.delayMs() + extraMs, () => {
      if (this.isCut(from.id, to.id)) return;
      if (to.alive && to.incarnation === toLife) {
        arrive();
        return;
      }
      if (!to.alive && refused) {
        const fromLife = from.incarnation;
        this.#sched.schedule(this.delayMs(), () => {
          if (from.alive && from.incarnation === fromLife) refused();
        });
      }
    });
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
