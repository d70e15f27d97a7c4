/**
 * The small operations HTTP server every process exposes: /health (alive), /ready (serving),
 * /metrics (Prometheus), plus service-specific JSON routes (e.g. /status). Bound to a configured
 * host and port; request bodies are not read.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '../metrics/index.ts';

export type JsonRoute = () => unknown | Promise<unknown>;

export interface OpsServerOptions {
  host: string;
  port: number;
  metrics?: Metrics;
  /** Returns undefined when ready, else the reason it is not. */
  readiness?: () => string | undefined;
  routes?: Record<string, JsonRoute>;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) =>
      send(res, 500, { reason: String((err as Error)?.message ?? err) }),
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(opts: OpsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET') return send(res, 405, { reason: 'only GET is served here' });
  if (path === '/health') return send(res, 200, { status: 'ok' });
  if (path === '/ready') {
    const why = opts.readiness?.();
    return why === undefined ? send(res, 200, { status: 'ready' }) : send(res, 503, { reason: why });
  }
  if (path === '/metrics' && opts.metrics) {
    const text = await opts.metrics.render();
    res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
    res.end(text);
    return;
  }
  const route = opts.routes?.[path];
  if (route) return send(res, 200, await route());
  send(res, 404, { reason: `no route ${path}` });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
}
