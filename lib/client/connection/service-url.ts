/**
 * Service URLs: `pulsar://host[:port][,host[:port]...]` (default port 6650). TLS (`pulsar+ssl://`)
 * and HTTP lookup URLs are refused with a clear error: this client speaks the binary protocol in
 * plain TCP only.
 */
import { clientErrors } from '../errors.ts';

export const DEFAULT_BROKER_PORT = 6650;

/** The `host:port` addresses of a service URL. */
export function parseServiceUrl(url: string): string[] {
  const bad = (reason: string) => clientErrors.make('INVALID_SERVICE_URL', { url, reason });
  const m = /^([a-z+]+):\/\/(.+?)\/?$/.exec(url.trim());
  if (!m) throw bad('expected pulsar://host:port');
  if (m[1] !== 'pulsar') {
    throw bad(m[1] === 'pulsar+ssl' ? 'TLS is not supported by this client' : `unsupported scheme "${m[1]}"`);
  }
  return m[2].split(',').map((hp) => hostPort(hp.trim(), bad));
}

function hostPort(hp: string, bad: (reason: string) => Error): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:/\s]+)(?::(\d{1,5}))?$/.exec(hp);
  if (!m) throw bad(`bad host:port "${hp}"`);
  const port = m[2] === undefined ? DEFAULT_BROKER_PORT : Number(m[2]);
  if (port < 1 || port > 65535) throw bad(`bad port in "${hp}"`);
  return `${m[1]}:${port}`;
}

/** `host:port` of a single broker URL from a lookup answer. */
export function brokerAddress(url: string): string {
  const hosts = parseServiceUrl(url);
  if (hosts.length !== 1) {
    throw clientErrors.make('INVALID_SERVICE_URL', { url, reason: 'a broker URL names exactly one host' });
  }
  return hosts[0];
}

export function splitHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(at + 1)) };
}
