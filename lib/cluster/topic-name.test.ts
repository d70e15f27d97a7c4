import { describe, expect, it } from 'vitest';
import { ClusterErrors } from './errors.ts';
import { parseNamespace, parseTopicName, partitionName } from './topic-name.ts';

describe('parseTopicName', () => {
  it('normalises short names to persistent://public/default', () => {
    expect(parseTopicName('orders').full).toBe('persistent://public/default/orders');
    expect(parseTopicName('acme/prod/orders').full).toBe('persistent://acme/prod/orders');
    const t = parseTopicName('non-persistent://acme/prod/clicks');
    expect(t).toMatchObject({
      domain: 'non-persistent',
      tenant: 'acme',
      namespace: 'prod',
      localName: 'clicks',
    });
    expect(t.namespaceName.full).toBe('acme/prod');
  });

  it('recognises partitions and their parent topic', () => {
    const p = parseTopicName('persistent://a/b/t-partition-12');
    expect(p.partitionIndex).toBe(12);
    expect(p.partitionedTopic).toBe('persistent://a/b/t');
    expect(partitionName(p, 3)).toBe('persistent://a/b/t-partition-3');
    expect(parseTopicName('persistent://a/b/t-partition-x').partitionIndex).toBe(-1);
    expect(parseTopicName('persistent://a/b/t-partition-01').partitionIndex).toBe(-1);
  });

  it.each([
    [''],
    ['a/b'],
    ['kafka://a/b/c'],
    ['persistent://a/b'],
    ['persistent://a/cluster/b/c'],
    ['persistent://a b/c/d'],
    ['persistent://a/b/'],
    ['x'.repeat(2000)],
  ])('refuses %j with INVALID_TOPIC_NAME', (name) => {
    let caught: unknown;
    try {
      parseTopicName(name);
    } catch (e) {
      caught = e;
    }
    expect(ClusterErrors.is(caught, 'INVALID_TOPIC_NAME')).toBe(true);
  });

  it('parses namespaces and refuses malformed ones', () => {
    expect(parseNamespace('public/default').full).toBe('public/default');
    expect(() => parseNamespace('public')).toThrow(/INVALID_NAMESPACE/);
    expect(() => parseNamespace('a/b/c')).toThrow(/INVALID_NAMESPACE/);
  });
});
