/**
 * The HTTP client of magnetar-admin: one call per admin REST request, bearer token, redirects
 * followed (a non-owner broker answers 307), errors turned into CliError with the server's reason.
 */
import { parseTopicName, type TopicName } from '../../policies/names.ts';

export class CliError extends Error {
  readonly status: number;
  constructor(message: string, status = 0) {
    super(message);
    this.name = 'CliError';
    this.status = status;
  }
}

export interface ClientOptions {
  /** http://host:port of any broker. */
  url: string;
  token?: string;
  timeoutMs?: number;
}

export interface Response {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
  readonly bytes: Uint8Array;
}

export class AdminClient {
  private readonly opts: ClientOptions;

  constructor(opts: ClientOptions) {
    this.opts = opts;
  }

  async request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: globalThis.Response;
    try {
      res = await fetch(new URL(path, this.opts.url), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'follow',
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (e) {
      throw new CliError(`cannot reach ${this.opts.url}: ${(e as Error).message}`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    let parsed: unknown = text === '' ? undefined : text;
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text);
      } catch {
        /* keep the text */
      }
    }
    if (res.status >= 400) {
      const reason = (parsed as { reason?: unknown })?.reason;
      throw new CliError(
        `${typeof reason === 'string' ? reason : text || res.statusText} (HTTP ${res.status})`,
        res.status,
      );
    }
    return { status: res.status, body: parsed, headers: res.headers, bytes };
  }

  async get(path: string): Promise<unknown> {
    return (await this.request('GET', path)).body;
  }
  async put(path: string, body?: unknown): Promise<unknown> {
    return (await this.request('PUT', path, body)).body;
  }
  async post(path: string, body?: unknown): Promise<unknown> {
    return (await this.request('POST', path, body)).body;
  }
  async delete(path: string): Promise<unknown> {
    return (await this.request('DELETE', path)).body;
  }
}

const enc = encodeURIComponent;

/** "tenant/ns" → "/admin/v2/namespaces/tenant/ns". */
export function nsPath(ns: string): string {
  const parts = ns.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw new CliError(`namespace must be tenant/namespace, got "${ns}"`);
  return `/admin/v2/namespaces/${enc(parts[0])}/${enc(parts[1])}`;
}

export function topicOf(name: string): TopicName {
  try {
    return parseTopicName(name);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** A topic name (any form) → "/admin/v2/persistent/t/ns/topic". */
export function topicPath(name: string): string {
  const t = topicOf(name);
  return `/admin/v2/${t.domain}/${enc(t.tenant)}/${enc(t.namespace)}/${enc(t.local)}`;
}
