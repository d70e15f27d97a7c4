/**
 * Requests waiting for the broker's answer on one connection, keyed by request id, each with a
 * deadline. Pure: the connection driver sweeps it from one interval timer (no timer per request)
 * and fails everything when the connection closes.
 */
import type { BaseCommand } from '../../wire/protocol.ts';

export interface PendingRequest {
  readonly requestId: number;
  /** What was asked (for timeout messages), e.g. "LOOKUP persistent://public/default/t". */
  readonly operation: string;
  /** ms since epoch; Infinity for requests that wait for an event (WaitForExclusive producers). */
  deadline: number;
  readonly resolve: (cmd: BaseCommand) => void;
  readonly reject: (err: Error) => void;
}

export class RequestTable {
  private readonly pending = new Map<number, PendingRequest>();

  get size(): number {
    return this.pending.size;
  }

  add(req: PendingRequest): void {
    if (this.pending.has(req.requestId)) throw new Error(`request id ${req.requestId} already pending`);
    this.pending.set(req.requestId, req);
  }

  get(requestId: number): PendingRequest | undefined {
    return this.pending.get(requestId);
  }

  /** Remove and return the request (undefined when unknown or already answered). */
  take(requestId: number): PendingRequest | undefined {
    const req = this.pending.get(requestId);
    if (req) this.pending.delete(requestId);
    return req;
  }

  /** Remove and return the requests whose deadline has passed. */
  expired(nowMs: number): PendingRequest[] {
    const out: PendingRequest[] = [];
    for (const req of this.pending.values()) {
      if (req.deadline <= nowMs) out.push(req);
    }
    for (const req of out) this.pending.delete(req.requestId);
    return out;
  }

  /** Remove and return every pending request. */
  drain(): PendingRequest[] {
    const out = [...this.pending.values()];
    this.pending.clear();
    return out;
  }
}
