/**
 * Per-request helpers shared by the route files: the caller's role, typed path/query parameters
 * (bad ones are coded errors, never crashes), ownership redirects.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  isTopicDomain,
  type NamespaceName,
  namespaceName,
  type TopicName,
  topicName,
} from '../../../lib/policies/names.ts';
import type { AdminDeps, BrokerRegistry, BundleHook, OwnershipHook, TopicAdminOps } from './deps.ts';
import { adminErrors } from './errors.ts';

/** AdminDeps with every hook resolved (defaults filled in). */
export interface AdminContext extends AdminDeps {
  ownership: OwnershipHook;
  bundles: BundleHook;
  brokers: BrokerRegistry;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated role ('' when authentication is off). */
    magnetarRole: string;
  }
}

export type Params = Record<string, string>;

export function params(req: FastifyRequest): Params {
  return req.params as Params;
}

export function query(req: FastifyRequest): Record<string, unknown> {
  return (req.query ?? {}) as Record<string, unknown>;
}

export function roleOf(req: FastifyRequest): string {
  return req.magnetarRole ?? '';
}

export function nsParam(req: FastifyRequest): NamespaceName {
  const p = params(req);
  return namespaceName(p.tenant, p.namespace);
}

export function topicParam(req: FastifyRequest, domain?: string): TopicName {
  const p = params(req);
  const d = domain ?? p.domain;
  if (!isTopicDomain(d)) throw adminErrors.make('NOT_FOUND', { method: req.method, path: req.url });
  return topicName(d, p.tenant, p.namespace, p.topic);
}

export function boolQuery(req: FastifyRequest, name: string, dflt = false): boolean {
  const v = query(req)[name];
  if (v === undefined || v === '') return dflt;
  if (v === 'true' || v === true) return true;
  if (v === 'false' || v === false) return false;
  throw adminErrors.make('BAD_PARAMETER', { name, why: 'must be true or false' });
}

/** A non-negative integer path/query value. */
export function intValue(name: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  const s = typeof v === 'string' ? v : String(v);
  if (!/^\d{1,16}$/.test(s) || Number(s) > max) {
    throw adminErrors.make('BAD_PARAMETER', { name, why: `must be an integer between 0 and ${max}` });
  }
  return Number(s);
}

export function requireTopics(ctx: AdminContext): TopicAdminOps {
  if (!ctx.topics) throw adminErrors.make('TOPIC_SERVICE_UNAVAILABLE');
  return ctx.topics;
}

/**
 * Answer 307 to the owner when another broker owns the topic. Returns true when it redirected
 * (the handler must stop). `authoritative=true` marks the forwarded request, as in Pulsar.
 */
export async function redirectIfNotOwner(
  ctx: AdminContext,
  req: FastifyRequest,
  reply: FastifyReply,
  topic: TopicName,
): Promise<boolean> {
  const owner = await ctx.ownership.ownerOf(topic);
  if (owner.local) return false;
  const url = new URL(req.url, owner.httpUrl);
  url.searchParams.set('authoritative', 'true');
  await reply.code(307).header('location', url.toString()).send();
  return true;
}

export async function noContent(reply: FastifyReply): Promise<void> {
  await reply.code(204).send();
}
