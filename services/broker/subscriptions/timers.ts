/** The timers of one subscription driver: plain ones, and named slots holding only the earliest deadline. */
export class Timers {
  private readonly all = new Set<NodeJS.Timeout>();
  private readonly slots = new Map<string, { readonly at: number; readonly timer: NodeJS.Timeout }>();

  /** Run `fn` after `ms` (never keeps the process alive). */
  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.all.delete(t);
      fn();
    }, ms);
    t.unref();
    this.all.add(t);
  }

  /** One timer per slot: a later deadline than the pending one is ignored, an earlier replaces it. */
  at(slot: string, atMs: number, fn: () => void): void {
    const pending = this.slots.get(slot);
    if (pending && pending.at <= atMs) return;
    if (pending) {
      clearTimeout(pending.timer);
      this.all.delete(pending.timer);
    }
    const t = setTimeout(
      () => {
        this.all.delete(t);
        this.slots.delete(slot);
        fn();
      },
      Math.max(0, atMs - Date.now()),
    );
    t.unref();
    this.all.add(t);
    this.slots.set(slot, { at: atMs, timer: t });
  }

  clear(): void {
    for (const t of this.all) clearTimeout(t);
    this.all.clear();
    this.slots.clear();
  }
}
