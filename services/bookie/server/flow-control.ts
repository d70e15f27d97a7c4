/**
 * Widen the HTTP/2 receive windows of the gRPC server's connections. grpc-js offers no server
 * option for it, and with HTTP/2's default 64 KiB window a client can have only 64 KiB of adds
 * on the wire per stream: at event-loop round trips of a fraction of a millisecond that caps an
 * AddStream near 130 MB/s (reference/peers.md). Uses grpc-js's list of its HTTP/2 servers; if a
 * grpc-js version lacks it, nothing changes but throughput.
 */
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../../lib/log/index.ts';

/** Larger DATA frames from clients: fewer frames (and callbacks) per add message. */
const MAX_FRAME_BYTES = 1024 * 1024;

export function widenFlowControl(server: grpc.Server, windowBytes: number, log: Logger): void {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    log.warn('cannot widen HTTP/2 flow-control windows with this grpc-js version');
    return;
  }
  for (const http2Server of servers.keys()) {
    http2Server.on('session', (session: ServerHttp2Session) => {
      try {
        session.setLocalWindowSize(windowBytes);
        session.settings({ initialWindowSize: windowBytes, maxFrameSize: MAX_FRAME_BYTES });
      } catch (err) {
        log.debug({ err }, 'could not widen a session window');
      }
    });
  }
}
