/**
 * One connection per broker (pulsar-protocol.md §5.2.1): producers, consumers and lookups for
 * many topics share it. Concurrent requests for the same broker share one connect attempt; a
 * closed connection leaves the pool at once so the next caller dials again.
 */
import type { Logger } from '../../log/index.ts';
import { clientErrors } from '../errors.ts';
import type { ResolvedClientOptions } from '../options.ts';
import { ClientConnection } from './connection.ts';

export class ConnectionPool {
  private readonly opts: ResolvedClientOptions;
  private readonly log: Logger;
  private readonly connections = new Map<string, Promise<ClientConnection>>();
  private closed = false;

  constructor(opts: ResolvedClientOptions, log: Logger) {
    this.opts = opts;
    this.log = log;
  }

  /** The connection to `logicalAddress` (through `physicalAddress` when a proxy is in between). */
  get(logicalAddress: string, physicalAddress = logicalAddress): Promise<ClientConnection> {
    if (this.closed) return Promise.reject(clientErrors.make('ALREADY_CLOSED', { what: 'client' }));
    const key = `${logicalAddress}|${physicalAddress}`;
    const existing = this.connections.get(key);
    if (existing) return existing;
    const attempt = ClientConnection.open({
      logicalAddress,
      physicalAddress,
      connectionTimeoutMs: this.opts.connectionTimeoutMs,
      operationTimeoutMs: this.opts.operationTimeoutMs,
      keepAliveIntervalMs: this.opts.keepAliveIntervalMs,
      authentication: this.opts.authentication,
      log: this.log,
    }).then(
      (cnx) => {
        cnx.onClose(() => {
          if (this.connections.get(key) === attempt) this.connections.delete(key);
        });
        if (this.closed) cnx.close('client closed');
        this.log.debug({ broker: logicalAddress }, 'connected');
        return cnx;
      },
      (err: unknown) => {
        if (this.connections.get(key) === attempt) this.connections.delete(key);
        throw err;
      },
    );
    this.connections.set(key, attempt);
    return attempt;
  }

  /** Connections currently open or being opened. */
  get size(): number {
    return this.connections.size;
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    for (const p of all) {
      try {
        (await p).close('client closed');
      } catch {
        // a connect attempt that failed has nothing to close
      }
    }
  }
}
