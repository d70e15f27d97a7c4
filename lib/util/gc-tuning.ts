/**
 * Process-wide V8 tuning for Magnetar's services, applied by each process entry point before
 * anything allocates.
 *
 * Entries arrive and leave in Buffers (socket chunks, gRPC/HTTP/2 frames) at hundreds of MB/s.
 * By default V8 starts a full GC every time external (Buffer) memory grows by a fixed amount:
 * measured in the broker, ~60 full collections in 15 s on a 30 MB heap, pauses up to 170 ms, and
 * about twice the CPU per message. Counting external memory in the global heap limit instead cuts
 * those collections several-fold (bench/broker-produce-consume.ts with BROKER_NODE_ARGS=--trace-gc).
 *
 * Those Buffers die young, but they are only freed at the next scavenge, so between scavenges
 * the global size climbs by tens of MB and V8's own growing factor (about 1.5-2 on these small
 * heaps) still starts a full collection about once a second. Each one stalls the event loop for
 * 5-30 ms and set the broker's publish p99 at 20k msg/s. A fixed factor of 4 (300 %) lets the
 * scavenges free that memory first: 11-12 full collections in a 12 s run became 4-5, and the
 * broker's SEND→receipt p99 fell from 15-22 ms to 5-10 ms. The cost is a heap limit up to 4x the
 * live size (a 30 MB broker heap grows to ~120 MB before a full collection).
 */
import { setFlagsFromString } from 'node:v8';
import { ConfigError } from '../config/index.ts';

/** Environment variable holding V8's heap growing percent for service processes. */
export const HEAP_GROWING_PERCENT_ENV = 'MAGNETAR_V8_HEAP_GROWING_PERCENT';
export const DEFAULT_HEAP_GROWING_PERCENT = 300;
const MAX_HEAP_GROWING_PERCENT = 1000;

/** The heap growing percent from the environment (0 = V8's own dynamic factor); throws on bad values. */
export function heapGrowingPercent(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[HEAP_GROWING_PERCENT_ENV];
  if (raw === undefined || raw === '') return DEFAULT_HEAP_GROWING_PERCENT;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > MAX_HEAP_GROWING_PERCENT) {
    throw new ConfigError(
      `${HEAP_GROWING_PERCENT_ENV} must be an integer 0 … ${MAX_HEAP_GROWING_PERCENT} (got ${JSON.stringify(raw)})`,
    );
  }
  return value;
}

/** Set the flags; a bad environment value ends the process with exit code 2 (as bad config does). */
export function applyServiceGcTuning(env: NodeJS.ProcessEnv = process.env): void {
  setFlagsFromString('--external-memory-accounted-in-global-limit');
  let percent: number;
  try {
    percent = heapGrowingPercent(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.code}: ${err.message}\n`);
    process.exit(2);
  }
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
