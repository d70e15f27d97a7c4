/**
 * A bounded, seeded fuzz pass over the HTTP API: random paths built from real and junk segments,
 * random methods, bodies (JSON of every shape, non-JSON text, binary, oversized, deeply nested)
 * and content types. Every answer must be a coded 4xx (or the documented 503 for topic data-path
 * operations without a broker), with a {"reason"} body; no 500, no crash, nothing corrupt stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeObject } from '../../lib/policies/codec.ts';
import { type AdminHarness, seed, startAdmin } from './helpers.ts';

const REQUESTS = 800;
const MAX_BODY = 4096;

let h: AdminHarness;
beforeAll(async () => {
  h = await startAdmin({ maxBodyBytes: MAX_BODY });
  await seed(h, 'acme', ['ns']);
  await h.call('PUT', '/admin/v2/persistent/acme/ns/pt/partitions', 2);
});
afterAll(async () => {
  await h?.close();
});

/** mulberry32: small deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEGMENTS = [
  'admin',
  'v2',
  'lookup',
  'clusters',
  'tenants',
  'namespaces',
  'persistent',
  'non-persistent',
  'acme',
  'ns',
  'test-cluster',
  'pt',
  't1',
  'partitions',
  'stats',
  'partitioned-stats',
  'internalStats',
  'subscriptions',
  'subscription',
  'sub',
  'skip',
  'skip_all',
  'resetcursor',
  'expireMessages',
  'position',
  'unload',
  'terminate',
  'permissions',
  'retention',
  'messageTTL',
  'backlogQuota',
  'backlogQuotaMap',
  'replication',
  'dispatchRate',
  'publishRate',
  'subscribeRate',
  'persistence',
  'deduplication',
  'autoTopicCreation',
  'bundles',
  'split',
  '0x00000000_0x40000000',
  'brokers',
  'leaderBroker',
  'health',
  'ready',
  'topic',
  'bundle',
  'offloadThreshold',
  '',
  '..',
  '%2F',
  '%00',
  '%ZZ',
  'x'.repeat(300),
  '-1',
  '0',
  '99999999999999999999',
  'ü',
  '%E2%82%AC',
  '*',
  '?a=b',
];
const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const TYPES = [
  'application/json',
  'text/plain',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  '',
];

function randomJson(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 3 ? 5 : 8));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return [-1, 0, 1, 3, 2 ** 53, -(2 ** 60), 1.5, 1e308][Math.floor(r() * 8)];
    case 3:
      return ['', 'produce', 'consume', 'Prefix', 'x'.repeat(50), 'test-cluster', '\u0000'][
        Math.floor(r() * 7)
      ];
    case 4:
      return {};
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth + 1));
    default: {
      const keys = [
        'retentionTimeInMinutes',
        'retentionSizeInMB',
        'limitSize',
        'policy',
        'adminRoles',
        'allowedClusters',
        'bookkeeperEnsemble',
        'bookkeeperWriteQuorum',
        'bookkeeperAckQuorum',
        'allowAutoTopicCreation',
        'topicType',
        'bundles',
        'numBundles',
        'ledgerId',
        'entryId',
        '__proto__',
        'constructor',
      ];
      const o: Record<string, unknown> = {};
      for (let i = 0; i < 1 + Math.floor(r() * 4); i++)
        o[keys[Math.floor(r() * keys.length)]] = randomJson(r, depth + 1);
      return o;
    }
  }
}

function randomBody(r: () => number): { raw?: string; body?: unknown } {
  const k = Math.floor(r() * 8);
  if (k === 0) return {};
  if (k === 1) return { raw: 'not json {' };
  if (k === 2) return { raw: 'x'.repeat(MAX_BODY * 2) };
  if (k === 3) return { raw: '['.repeat(5000) + ']'.repeat(5000) };
  if (k === 4)
    return { raw: String.fromCharCode(...Array.from({ length: 64 }, () => Math.floor(r() * 256))) };
  return { body: randomJson(r) };
}

describe('HTTP fuzz', () => {
  it(`answers ${REQUESTS} random requests with coded 4xx and never crashes`, async () => {
    const r = rng(0x5eed);
    const statuses = new Map<number, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const n = 1 + Math.floor(r() * 8);
      const segs = Array.from({ length: n }, () => SEGMENTS[Math.floor(r() * SEGMENTS.length)]);
      const base = r() < 0.7 ? (r() < 0.85 ? '/admin/v2/' : '/lookup/v2/') : '/';
      const path = base + segs.join('/');
      const method = METHODS[Math.floor(r() * METHODS.length)];
      const { raw, body } = randomBody(r);
      const contentType = TYPES[Math.floor(r() * TYPES.length)];
      const res = await h.call(method, path, method === 'GET' || method === 'HEAD' ? undefined : body, {
        raw: method === 'GET' || method === 'HEAD' ? undefined : raw,
        contentType: contentType || undefined,
      });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const where = `${method} ${path.slice(0, 120)} -> ${res.status} ${res.text.slice(0, 200)}`;
      expect(res.status, where).not.toBe(500);
      if (res.status >= 500)
        expect(res.headers.get('x-magnetar-error-code'), where).toBe('TOPIC_SERVICE_UNAVAILABLE');
      if (res.status >= 400 && method !== 'HEAD') {
        expect(typeof (res.body as { reason?: unknown })?.reason, where).toBe('string');
        expect(res.headers.get('x-magnetar-error-code'), where).toMatch(/^[A-Z][A-Z0-9_]+$/);
      }
    }
    // The server still works and everything stored is readable.
    expect((await h.call('GET', '/admin/v2/clusters')).status).toBe(200);
    for (const e of await h.store.listAll('/global/'))
      expect(() => decodeObject(e.key, e.value)).not.toThrow();
    expect(statuses.get(404) ?? 0).toBeGreaterThan(0);
    expect([...statuses.keys()].some((s) => s === 400 || s === 412 || s === 413)).toBe(true);
  });

  it('refuses oversized and malformed bodies with 413 / 400', async () => {
    const big = await h.call('PUT', '/admin/v2/tenants/big', undefined, {
      raw: `{"adminRoles":["${'a'.repeat(MAX_BODY)}"]}`,
    });
    expect(big.status).toBe(413);
    expect(big.body).toEqual({ reason: `Request body larger than ${MAX_BODY} bytes` });
    const bad = await h.call('POST', '/admin/v2/namespaces/acme/ns/messageTTL', undefined, { raw: '{oops' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-magnetar-error-code')).toBe('MALFORMED_JSON');
    expect(
      (
        await h.call('POST', '/admin/v2/namespaces/acme/ns/messageTTL', undefined, {
          raw: '60',
          contentType: 'text/plain',
        })
      ).status,
    ).toBe(204);
  });
});
