/**
 * Subscription routes (both domains): list, create at a position, delete, skip n, skip all, reset
 * cursor to a time or a message id, expire messages (one or all subscriptions), peek. On a
 * partitioned topic they apply to every partition, each on its owner (forward.ts), as in Pulsar. Callers need `consume` on the
 * topic (and the subscription must allow their role) or tenant admin.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TOPIC_DOMAINS, type TopicName } from '../../../../lib/policies/names.ts';
import { asObject, boolField, intField } from '../../../../lib/policies/validate.ts';
import {
  type AdminContext,
  boolQuery,
  intValue,
  noContent,
  params,
  redirectIfNotOwner,
  requireTopics,
  roleOf,
  topicParam,
} from '../context.ts';
import type { MessageIdData, PeekedMessage, StartPosition } from '../deps.ts';
import { adminErrors } from '../errors.ts';
import { onOwner, sameRoute } from '../forward.ts';
import { partitionsOf, targetsOf } from './topics.ts';

const MAX_SUBSCRIPTION_NAME = 1024;

function subscriptionParam(req: FastifyRequest): string {
  const { subscription } = params(req);
  if (!subscription || subscription.length > MAX_SUBSCRIPTION_NAME) {
    throw adminErrors.make('BAD_PARAMETER', {
      name: 'subscription',
      why: `must be 1..${MAX_SUBSCRIPTION_NAME} characters`,
    });
  }
  return subscription;
}

export function parseMessageId(body: unknown): MessageIdData {
  const o = asObject(body, 'MessageId');
  const ledgerId = intField(o, 'ledgerId');
  const entryId = intField(o, 'entryId');
  if (ledgerId === undefined || entryId === undefined) {
    throw adminErrors.make('BAD_REQUEST', { why: 'MessageId needs ledgerId and entryId' });
  }
  const id: MessageIdData = { ledgerId, entryId };
  const partitionIndex = intField(o, 'partitionIndex');
  const batchIndex = intField(o, 'batchIndex');
  if (partitionIndex !== undefined) id.partitionIndex = partitionIndex;
  if (batchIndex !== undefined) id.batchIndex = batchIndex;
  return id;
}

function parseStart(body: unknown): StartPosition {
  if (body === undefined || body === null || body === '') return 'latest';
  if (body === 'earliest' || body === 'latest') return body;
  // Pulsar's MessageId.latest is ledgerId = Long.MAX_VALUE, beyond a safe JS integer.
  const raw = asObject(body, 'MessageId').ledgerId;
  if (typeof raw === 'number' && raw >= Number.MAX_SAFE_INTEGER) return 'latest';
  const id = parseMessageId(body);
  if (id.ledgerId === -1 && id.entryId === -1) return 'earliest';
  return id;
}

function peekHeaders(m: PeekedMessage): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'X-Pulsar-Message-ID': `${m.messageId.ledgerId}:${m.messageId.entryId}`,
    'X-Pulsar-publish-time': new Date(m.publishTimeMs).toISOString(),
  };
  if (m.eventTimeMs) h['X-Pulsar-event-time'] = new Date(m.eventTimeMs).toISOString();
  if (m.producerName) h['X-Pulsar-producer-name'] = m.producerName;
  if (m.sequenceId !== undefined) h['X-Pulsar-sequence-id'] = String(m.sequenceId);
  if (m.key !== undefined) h['X-Pulsar-partition-key'] = encodeURIComponent(m.key);
  if (m.redeliveryCount !== undefined) h['X-Pulsar-redelivery-count'] = String(m.redeliveryCount);
  for (const [k, v] of Object.entries(m.properties))
    h[`X-Pulsar-PROPERTY-${encodeURIComponent(k)}`] = encodeURIComponent(v);
  return h;
}

type SubHandler = (
  req: FastifyRequest,
  reply: FastifyReply,
  topic: TopicName,
  sub: string,
) => Promise<unknown>;

export function subscriptionRoutes(app: FastifyInstance, ctx: AdminContext): void {
  for (const domain of TOPIC_DOMAINS) {
    const T = `/${domain}/:tenant/:namespace/:topic`;
    const S = `${T}/subscription/:subscription`;
    /** Authorize `consume` on the subscription, redirect to the owner of a non-partitioned topic. */
    const consume = (h: SubHandler) => async (req: FastifyRequest, reply: FastifyReply) => {
      const topic = topicParam(req, domain);
      const sub = subscriptionParam(req);
      await ctx.authz.checkTopic(roleOf(req), topic, 'consume', sub);
      if ((await partitionsOf(ctx, topic)) === 0 && (await redirectIfNotOwner(ctx, req, reply, topic)))
        return;
      return h(req, reply, topic, sub);
    };
    /** Run on every partition (or the topic), then answer 204. */
    const each = (fn: (t: TopicName, sub: string, req: FastifyRequest) => Promise<void>) =>
      consume(async (req, reply, topic, sub) => {
        for (const t of await targetsOf(ctx, topic)) {
          if (t === topic) await fn(t, sub, req);
          else await onOwner(ctx, req, t, () => fn(t, sub, req), sameRoute(req));
        }
        await noContent(reply);
      });

    app.get(`${T}/subscriptions`, async (req, reply) => {
      const topic = topicParam(req, domain);
      await ctx.authz.checkTopic(roleOf(req), topic, 'consume');
      const targets = await targetsOf(ctx, topic);
      if (targets.length === 1 && (await redirectIfNotOwner(ctx, req, reply, topic))) return;
      const out = new Set<string>();
      const ops = requireTopics(ctx);
      for (const t of targets) {
        if (t === topic) {
          for (const s of await ops.listSubscriptions(t)) out.add(s);
          continue;
        }
        if (!(await ops.topicExists(t))) continue;
        const subs = await onOwner(ctx, req, t, () => ops.listSubscriptions(t), {
          method: 'GET',
          suffix: '/subscriptions',
        });
        for (const s of subs ?? []) out.add(s);
      }
      return [...out].sort();
    });

    app.put(
      S,
      each(async (t, sub, req) => {
        await requireTopics(ctx).createSubscription(t, sub, parseStart(req.body));
      }),
    );
    app.delete(
      S,
      each(async (t, sub, req) => {
        await requireTopics(ctx).deleteSubscription(t, sub, boolQuery(req, 'force'));
      }),
    );
    app.post(
      `${S}/skip/:count`,
      each(async (t, sub, req) => {
        await requireTopics(ctx).skipMessages(t, sub, intValue('count', params(req).count, 1_000_000_000));
      }),
    );
    app.post(
      `${S}/skip_all`,
      each(async (t, sub) => {
        await requireTopics(ctx).skipAllMessages(t, sub);
      }),
    );
    app.post(
      `${S}/resetcursor/:timestamp`,
      each(async (t, sub, req) => {
        await requireTopics(ctx).resetCursorToTime(t, sub, intValue('timestamp', params(req).timestamp));
      }),
    );
    app.post(
      `${S}/resetcursor`,
      consume(async (req, reply, topic, sub) => {
        const id = parseMessageId(req.body);
        const excluded = boolField(asObject(req.body, 'ResetCursorData'), 'isExcluded') ?? false;
        const targets = await targetsOf(ctx, topic);
        // A message id names one partition: reset that one (Pulsar does the same).
        const target =
          targets.length > 1 && id.partitionIndex !== undefined && id.partitionIndex >= 0
            ? targets[id.partitionIndex]
            : targets.length === 1
              ? targets[0]
              : undefined;
        if (!target)
          throw adminErrors.make('BAD_REQUEST', {
            why: 'partitionIndex is required for a partitioned topic',
          });
        const ops = requireTopics(ctx);
        const reset = () => ops.resetCursorToMessageId(target, sub, id, excluded);
        await (target === topic ? reset() : onOwner(ctx, req, target, reset, sameRoute(req)));
        await noContent(reply);
      }),
    );
    app.post(
      `${S}/expireMessages/:seconds`,
      each(async (t, sub, req) => {
        await requireTopics(ctx).expireMessages(t, sub, intValue('seconds', params(req).seconds));
      }),
    );
    app.post(`${T}/all_subscription/expireMessages/:seconds`, async (req, reply) => {
      const topic = topicParam(req, domain);
      await ctx.authz.checkTenantAdmin(roleOf(req), topic.tenant, 'expire messages');
      const seconds = intValue('seconds', params(req).seconds);
      const ops = requireTopics(ctx);
      for (const t of await targetsOf(ctx, topic)) {
        const expire = async () => {
          for (const s of await ops.listSubscriptions(t)) await ops.expireMessages(t, s, seconds);
        };
        if (t !== topic) await onOwner(ctx, req, t, expire, sameRoute(req));
        else if (await redirectIfNotOwner(ctx, req, reply, topic)) return;
        else await expire();
      }
      await noContent(reply);
    });
    app.get(
      `${S}/position/:position`,
      consume(async (req, reply, topic, sub) => {
        if ((await partitionsOf(ctx, topic)) > 0) {
          throw adminErrors.make('TOPIC_IS_PARTITIONED', { topic: topic.full });
        }
        const position = intValue('position', params(req).position, ctx.limits.maxPeekPosition);
        if (position < 1) throw adminErrors.make('BAD_PARAMETER', { name: 'position', why: 'must be >= 1' });
        const m = await requireTopics(ctx).peekMessage(topic, sub, position);
        return reply.code(200).headers(peekHeaders(m)).send(Buffer.from(m.payload));
      }),
    );
  }
}
