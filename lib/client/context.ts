/** What producers and consumers share from their client: options, connections, lookup, ids. */
import type { Logger } from '../log/index.ts';
import type { LookupService } from './connection/lookup.ts';
import type { ConnectionPool } from './connection/pool.ts';
import type { ResolvedClientOptions } from './options.ts';

export interface ClientContext {
  readonly options: ResolvedClientOptions;
  readonly pool: ConnectionPool;
  readonly lookup: LookupService;
  readonly log: Logger;
  newProducerId(): number;
  newConsumerId(): number;
}
