/** What the gRPC handlers share: configuration, storage, state, metrics. */
import type { Logger } from '../../../lib/log/index.ts';
import type { BookieConfig } from '../config.ts';
import type { BookieMetrics } from '../metrics.ts';
import type { DiskStats } from '../registration/disk-monitor.ts';
import type { LedgerStorage } from '../storage/ledger-storage.ts';
import type { LacWaiters } from './long-poll.ts';

export interface BookieIdentity {
  readonly bookieId: string;
  readonly instanceId: string;
}

export interface ServerContext {
  readonly cfg: BookieConfig;
  readonly storage: LedgerStorage;
  readonly waiters: LacWaiters;
  readonly log: Logger;
  readonly metrics: BookieMetrics;
  readonly identity: BookieIdentity;
  /** Current read-only state and the last disk reading. */
  readonly disk: { readonly readOnly: boolean; readonly last: DiskStats };
  /** True once shutdown began: new work is refused with SHUTTING_DOWN. */
  closing: boolean;
  /** Streams still open, so shutdown can end them. */
  readonly streams: Set<{ shutdown(): void }>;
}
