/**
 * Per-partition work of a partitioned topic in a cluster. Each partition is a topic of its own,
 * hashed into its own bundle and possibly owned by another broker, so an operation that fans out
 * over the partitions (partitioned stats, unload, delete, subscription operations) runs each
 * partition's part on that partition's owner, as Pulsar's admin does: here when this broker owns
 * it, otherwise as the equivalent request for the partition sent to the owner (same method, body
 * and credentials, `authoritative=true`; an owner that moved meanwhile answers 307, followed).
 * Without cluster ownership every partition is local and nothing is sent.
 */
import type { FastifyRequest } from 'fastify';
import type { TopicName } from '../../../lib/policies/names.ts';
import type { AdminContext } from './context.ts';
import { adminErrors } from './errors.ts';

/** The request the owner gets: `suffix` follows the partition's topic path. */
export interface RemoteCall {
  readonly method: string;
  /** e.g. "/stats", "/subscription/sub/skip/10", "" (the topic itself). */
  readonly suffix: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

const ADMIN_PREFIX = '/admin/v2';
const DEFAULT_FORWARD_TIMEOUT_MS = 60_000;

/** The path of `topic` with `suffix`, as the admin routes name it. */
function topicPath(topic: TopicName, suffix: string): string {
  const enc = encodeURIComponent;
  return `${ADMIN_PREFIX}/${topic.domain}/${enc(topic.tenant)}/${enc(topic.namespace)}/${enc(topic.local)}${suffix}`;
}

/**
 * The current request's route after its `:topic` segment, parameters filled in (for a fan-out
 * that repeats the same operation on each partition).
 */
export function sameRoute(req: FastifyRequest): RemoteCall {
  const pattern = req.routeOptions.url ?? '';
  const at = pattern.indexOf('/:topic');
  const tail = at < 0 ? '' : pattern.slice(at + '/:topic'.length);
  const params = (req.params ?? {}) as Record<string, string>;
  const suffix = tail.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) =>
    encodeURIComponent(params[name] ?? ''),
  );
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>))
    if (typeof v === 'string') query[k] = v;
  return { method: req.method, suffix, query, body: req.body };
}

/** Run `local` when this broker owns `partition`, else `call` on its owner; the owner's JSON answer. */
export async function onOwner<T>(
  ctx: AdminContext,
  req: FastifyRequest,
  partition: TopicName,
  local: () => Promise<T>,
  call: RemoteCall,
): Promise<T> {
  const owner = await ctx.ownership.ownerOf(partition);
  if (owner.local) return local();
  const url = new URL(topicPath(partition, call.suffix), owner.httpUrl);
  for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, v);
  url.searchParams.set('authoritative', 'true');
  const headers: Record<string, string> = {};
  const auth = req.headers.authorization;
  if (typeof auth === 'string') headers.authorization = auth;
  const hasBody = call.body !== undefined && call.body !== null;
  if (hasBody) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, {
      method: call.method,
      headers,
      body: hasBody ? JSON.stringify(call.body) : undefined,
      redirect: 'follow',
      signal: AbortSignal.timeout(ctx.limits.forwardTimeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS),
    });
  } catch (err) {
    throw adminErrors.make(
      'PARTITION_OWNER_FAILED',
      { topic: partition.full, owner: owner.httpUrl, status: 'no answer', reason: (err as Error).message },
      err,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  if (res.status >= 300) {
    const reason =
      body && typeof body === 'object' && 'reason' in body
        ? String((body as { reason: unknown }).reason)
        : text;
    throw adminErrors.make('PARTITION_OWNER_FAILED', {
      topic: partition.full,
      owner: owner.httpUrl,
      status: res.status,
      reason,
    });
  }
  return body as T;
}
