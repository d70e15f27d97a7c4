/**
 * Invariant checks that stay on in production. A failed invariant means the process is in a state
 * it does not understand: it throws an InvariantViolation (which callers must not catch and carry
 * on), carrying the details needed to debug it.
 */
export class InvariantViolation extends Error {
  readonly details: Readonly<Record<string, unknown>>;
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(`invariant violated: ${message}`);
    this.name = 'InvariantViolation';
    this.details = details;
  }
}

export function assert(cond: unknown, message: string, details?: Record<string, unknown>): asserts cond {
  if (!cond) throw new InvariantViolation(message, details);
}

export function unreachable(value: never, message = 'unreachable'): never {
  throw new InvariantViolation(message, { value });
}
