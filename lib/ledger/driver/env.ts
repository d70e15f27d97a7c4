/**
 * The ledger client's window on time and randomness. Production uses the real clock and
 * Math.random; the simulation passes a seeded, virtual-time implementation, so the same client
 * code replays exactly from a seed. The state machines and drivers take time and randomness only
 * from here; only the adapters that exist solely for real I/O (the gRPC transport, the registry's
 * watch retry) use Node's clock and timers directly.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface LedgerEnv {
  nowMs(): number;
  /** Run `fn` after `delayMs` (virtual time in the simulation). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  /** Run `fn` soon, after the current event (batch flushes). */
  nextTick(fn: () => void): void;
  /** Uniform in [0, 1). */
  random(): number;
}

export const realEnv: LedgerEnv = {
  nowMs: () => Date.now(),
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, delayMs);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
  nextTick: (fn) => setImmediate(fn),
  random: () => Math.random(),
};
