/**
 * Errors as data. Each service (and each shared subsystem) declares one registry of stable codes
 * with `defineErrors`; every code carries a message template, a retry class and its wire codes,
 * so a caller decides what to do from the code, never from the message text.
 */

/** What a caller may do about an error. */
export type RetryClass =
  | 'retryable' // transient: the same request may succeed later (timeouts, overload, unavailable)
  | 'fenced' // a newer writer/owner exists: stop, never retry the same write
  | 'not-owner' // ask someone else (look up again)
  | 'bad-request' // the request itself is wrong: never retry unchanged
  | 'fatal'; // the process or resource cannot continue

export interface ErrorSpec {
  /** Message template; `{name}` is replaced by details[name]. */
  readonly message: string;
  readonly retry: RetryClass;
  /** gRPC status code (numeric, @grpc/grpc-js `status`). */
  readonly grpc?: number;
  /** HTTP status for the admin API. */
  readonly http?: number;
  /** Any service-specific wire code (bookie Status, Pulsar ServerError...). */
  readonly wire?: number;
}

const BRAND = Symbol.for('magnetar.error');

export class MagnetarError extends Error {
  readonly code: string;
  readonly retry: RetryClass;
  readonly spec: ErrorSpec;
  readonly details: Readonly<Record<string, unknown>>;
  readonly [BRAND] = true;

  constructor(code: string, spec: ErrorSpec, details: Record<string, unknown> = {}, cause?: unknown) {
    super(`${code}: ${formatMessage(spec.message, details)}`, cause === undefined ? undefined : { cause });
    this.name = 'MagnetarError';
    this.code = code;
    this.spec = spec;
    this.retry = spec.retry;
    this.details = details;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retry: this.retry, details: this.details };
  }
}

function formatMessage(template: string, details: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => (k in details ? String(details[k]) : `{${k}}`));
}

export interface ErrorRegistry<K extends string> {
  readonly specs: Readonly<Record<K, ErrorSpec>>;
  /** Build the error for a code. */
  make(code: K, details?: Record<string, unknown>, cause?: unknown): MagnetarError;
  /** True when `err` is one of this registry's errors with that code. */
  is(err: unknown, code: K): err is MagnetarError;
}

/** Declare a registry. Codes are stable forever: add new ones, never renumber or reuse. */
export function defineErrors<K extends string>(specs: Record<K, ErrorSpec>): ErrorRegistry<K> {
  for (const [code, spec] of Object.entries(specs) as [K, ErrorSpec][]) {
    if (!/^[A-Z][A-Z0-9_]+$/.test(code)) throw new Error(`bad error code name ${code}`);
    if (!spec.message) throw new Error(`error ${code} has no message`);
  }
  return {
    specs,
    make: (code, details, cause) => new MagnetarError(code, specs[code], details, cause),
    is: (err, code): err is MagnetarError =>
      err instanceof MagnetarError && err.code === code && code in specs,
  };
}

export function isMagnetarError(err: unknown): err is MagnetarError {
  return err instanceof MagnetarError;
}
