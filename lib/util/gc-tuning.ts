/**
 * Process-wide V8 tuning for Magnetar's services, applied by each process entry point before
 * anything allocates.
 *
 * Entries arrive and leave in Buffers (socket chunks, gRPC/HTTP/2 frames) at hundreds of MB/s.
 * By default V8 starts a full GC every time external (Buffer) memory grows by a fixed amount:
 * measured in the broker, ~60 full collections in 15 s on a 30 MB heap, pauses up to 170 ms, and
 * about twice the CPU per message. Counting external memory in the global heap limit instead cuts
 * those collections several-fold (bench/broker-produce-consume.ts with BROKER_NODE_ARGS=--trace-gc).
 */
import { setFlagsFromString } from 'node:v8';

export function applyServiceGcTuning(): void {
  setFlagsFromString('--external-memory-accounted-in-global-limit');
}
