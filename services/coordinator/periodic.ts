/**
 * A leader task run every `intervalMs`, never overlapping itself, that can also be poked to run
 * soon (coalescing pokes while it runs into one more run).
 */
import type { Logger } from '../../lib/log/index.ts';

export class PeriodicTask {
  readonly name: string;
  readonly #intervalMs: number;
  readonly #run: () => Promise<unknown>;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #active = false;
  lastError: string | undefined;
  runs = 0;

  constructor(name: string, intervalMs: number, run: () => Promise<unknown>, log: Logger) {
    this.name = name;
    this.#intervalMs = intervalMs;
    this.#run = run;
    this.#log = log;
  }

  start(): void {
    if (this.#active) return;
    this.#active = true;
    this.poke();
  }

  /** Run as soon as possible (once more if a run is in progress). */
  poke(): void {
    if (!this.#active) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.#once().finally(() => {
      this.#running = undefined;
      if (!this.#active) return;
      if (this.#again) {
        this.#again = false;
        this.poke();
      } else {
        this.#timer = setTimeout(() => this.poke(), this.#intervalMs);
        this.#timer.unref();
      }
    });
  }

  async #once(): Promise<void> {
    try {
      this.runs++;
      await this.#run();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.#log.warn({ task: this.name, err: this.lastError }, 'leader task failed');
    }
  }

  async stop(): Promise<void> {
    this.#active = false;
    this.#again = false;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
