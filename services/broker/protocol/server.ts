/**
 * The binary protocol listener: accepts TCP connections up to `maxConnections` and tracks them
 * so a shutdown closes every one.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { BrokerContext } from './context.ts';
import { ServerConnection } from './connection.ts';

export interface ProtocolServer {
  readonly port: number;
  connectionCount(): number;
  close(): Promise<void>;
}

export async function startProtocolServer(
  ctx: BrokerContext,
  host: string,
  port: number,
): Promise<ProtocolServer> {
  const connections = new Set<ServerConnection>();
  const server: Server = createServer(
    { noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 },
    (socket: Socket) => {
      if (connections.size >= ctx.config.maxConnections) {
        ctx.metrics.protocolErrors.inc({ kind: 'too-many-connections' });
        socket.destroy();
        return;
      }
      ctx.metrics.connectionsTotal.inc();
      ctx.metrics.connections.inc();
      const conn = new ServerConnection(socket, ctx, (c) => {
        if (connections.delete(c)) ctx.metrics.connections.dec();
      });
      connections.add(conn);
    },
  );
  server.on('error', (err) => ctx.log.error({ err }, 'protocol listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    connectionCount: () => connections.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of [...connections]) c.close('broker shutting down');
      }),
  };
}
