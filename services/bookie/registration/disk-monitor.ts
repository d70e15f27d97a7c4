/**
 * Disk usage -> read-only mode (internals.md §2.6). Usage is the larger of the journal and the
 * ledger filesystem's used fraction, from statfs by default; `diskUsageProbeFile` (or an injected
 * probe) replaces the source for tests and drills. Above `diskUsageThreshold` the bookie turns
 * read-only; it turns writable again only below `diskUsageLwmThreshold` (hysteresis).
 */
import { readFile, statfs } from 'node:fs/promises';

export interface DiskStats {
  readonly totalBytes: number;
  readonly freeBytes: number;
  /** Used fraction 0..1 (the fullest of the bookie's dirs). */
  readonly usage: number;
}

export type DiskProbe = () => Promise<DiskStats>;

/** statfs of each dir; usage is the fullest one's, total/free are the ledger dir's (last). */
export function statfsProbe(dirs: readonly string[]): DiskProbe {
  return async () => {
    let usage = 0;
    let totalBytes = 0;
    let freeBytes = 0;
    for (const dir of dirs) {
      const s = await statfs(dir);
      totalBytes = s.blocks * s.bsize;
      freeBytes = s.bavail * s.bsize;
      const used = totalBytes === 0 ? 0 : 1 - freeBytes / totalBytes;
      usage = Math.max(usage, used);
    }
    return { totalBytes, freeBytes, usage };
  };
}

/**
 * Real capacity figures, but the usage ratio read from a file (a number 0..1). While the file
 * is missing or holds no valid number (e.g. being rewritten), the last valid reading stands.
 */
export function fileProbe(path: string, real: DiskProbe): DiskProbe {
  let last: number | undefined;
  return async () => {
    const base = await real();
    const text = (await readFile(path, 'utf8').catch(() => '')).trim();
    const usage = Number(text);
    if (text !== '' && Number.isFinite(usage) && usage >= 0 && usage <= 1) last = usage;
    return last === undefined ? base : { ...base, usage: last };
  };
}

export interface ReadOnlyThresholds {
  readonly high: number;
  readonly low: number;
}

/** Next read-only state for a usage reading (pure). */
export function nextReadOnly(readOnly: boolean, usage: number, t: ReadOnlyThresholds): boolean {
  if (!readOnly && usage > t.high) return true;
  if (readOnly && usage < t.low) return false;
  return readOnly;
}

export class DiskMonitor {
  readonly #probe: DiskProbe;
  readonly #t: ReadOnlyThresholds;
  readonly #onChange: (readOnly: boolean, stats: DiskStats) => void;
  readonly #onError: (err: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  readOnly = false;
  last: DiskStats = { totalBytes: 0, freeBytes: 0, usage: 0 };

  constructor(
    probe: DiskProbe,
    t: ReadOnlyThresholds,
    onChange: (readOnly: boolean, stats: DiskStats) => void,
    onError: (err: unknown) => void,
  ) {
    this.#probe = probe;
    this.#t = t;
    this.#onChange = onChange;
    this.#onError = onError;
  }

  /** Probe now; returns the state after the reading. */
  async check(): Promise<boolean> {
    try {
      this.last = await this.#probe();
    } catch (err) {
      this.#onError(err);
      return this.readOnly;
    }
    const next = nextReadOnly(this.readOnly, this.last.usage, this.#t);
    if (next !== this.readOnly) {
      this.readOnly = next;
      this.#onChange(next, this.last);
    }
    return this.readOnly;
  }

  start(intervalMs: number): void {
    let running = false;
    this.#timer = setInterval(() => {
      if (running) return;
      running = true;
      void this.check().finally(() => {
        running = false;
      });
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
