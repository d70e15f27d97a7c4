/** Everything a protocol driver needs, passed down from the client. */
import type { LedgerLimits } from '../limits.ts';
import type { PlacementPolicy } from '../protocol/placement.ts';
import type { ProtocolDefects } from '../protocol/recovery.ts';
import type { LedgerEnv } from './env.ts';
import type { LedgerMetaStore } from './meta-store.ts';
import type { BookieRegistry } from './registry.ts';
import type { BookieTransport } from './transport.ts';

export interface DriverContext {
  readonly env: LedgerEnv;
  readonly transport: BookieTransport;
  readonly store: LedgerMetaStore;
  readonly registry: BookieRegistry;
  readonly placement: PlacementPolicy;
  readonly limits: LedgerLimits;
  readonly defects: ProtocolDefects;
  /** Bookies that failed a read recently (id → until when, ms): readers ask them last. */
  readonly suspectBookies: Map<string, number>;
  /** Structured events for logs and traces (the simulation records them). */
  readonly trace?: (event: string, details: Record<string, unknown>) => void;
}

/** Resolve after `ms` on the context's clock. */
export function sleep(ctx: DriverContext, ms: number): Promise<void> {
  return new Promise((resolve) => ctx.env.setTimer(ms, resolve));
}
