/**
 * Virtual time for the simulation: one event queue ordered by (time, insertion order). `run`
 * executes events one at a time and lets promise continuations settle between events, so the
 * ledger client's async code advances exactly as the events dictate, identically on every run.
 */
export interface SimTimer {
  cancel(): void;
}

interface Event {
  readonly at: number;
  readonly seq: number;
  fn: (() => void) | undefined;
}

export class Scheduler {
  #now = 0;
  #seq = 0;
  #heap: Event[] = [];
  executed = 0;

  get nowMs(): number {
    return this.#now;
  }

  get pending(): number {
    return this.#heap.length;
  }

  schedule(delayMs: number, fn: () => void): SimTimer {
    const ev: Event = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn };
    this.#push(ev);
    return {
      cancel: () => {
        ev.fn = undefined;
      },
    };
  }

  /** Run events until `done()` holds, the queue empties, or virtual time passes `untilMs`. */
  async run(
    done: () => boolean,
    untilMs: number,
    maxEvents = 5_000_000,
  ): Promise<'done' | 'idle' | 'time-limit'> {
    await settle();
    while (!done()) {
      const ev = this.#pop();
      if (ev === undefined) return 'idle';
      if (ev.at > untilMs) {
        this.#push(ev);
        return 'time-limit';
      }
      this.#now = ev.at;
      const fn = ev.fn;
      if (fn === undefined) continue;
      fn();
      this.executed++;
      if (this.executed > maxEvents) throw new Error(`simulation exceeded ${maxEvents} events`);
      await settle();
    }
    return 'done';
  }

  #push(ev: Event): void {
    const h = this.#heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (before(h[p], h[i])) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  #pop(): Event | undefined {
    const h = this.#heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Let every pending promise continuation run (microtasks drain before a macrotask). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
