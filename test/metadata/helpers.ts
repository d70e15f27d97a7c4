/** Small helpers shared by the metadata tests (no timed assertions: waits only bound hangs). */
import { expect } from 'vitest';
import { MetadataErrors, type MetadataErrorCode } from '../../lib/metadata/errors.ts';

export const bytes = (s: string) => new TextEncoder().encode(s);
export const text = (b: Uint8Array | undefined) =>
  b === undefined ? undefined : new TextDecoder().decode(b);

/** Poll `cond` until it holds; fail (with `what`) only if it never does within a generous bound. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function expectCode(p: Promise<unknown> | (() => unknown), code: MetadataErrorCode) {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeDefined();
  expect(MetadataErrors.is(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
  return err as Error & { details: Record<string, unknown> };
}
