import { describe, expect, it } from 'vitest';
import { MetadataErrors } from './errors.ts';
import * as keys from './keys.ts';

const rejects = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(MetadataErrors.is(e, 'INVALID_KEY')).toBe(true);
    return;
  }
  throw new Error('expected INVALID_KEY');
};

describe('metadata keys', () => {
  it('builds the documented layout', () => {
    expect(keys.bookieRegistration('c1', 'writable', 'bk-0:3181')).toBe('/c1/bk/bookies/writable/bk-0:3181');
    expect(keys.bookieRegistrationsPrefix('c1', 'readonly')).toBe('/c1/bk/bookies/readonly/');
    expect(keys.cookie('c1', 'bk-0')).toBe('/c1/bk/cookies/bk-0');
    expect(keys.instanceId('c1')).toBe('/c1/bk/instanceid');
    expect(keys.ledger('c1', 42)).toBe('/c1/bk/ledgers/0000000000000042');
    expect(keys.ledgerIdCounter('c1')).toBe('/c1/bk/idgen/000');
    expect(keys.underReplicatedLedger('c1', 7)).toBe('/c1/bk/underreplication/ledgers/0000000000000007');
    expect(keys.underReplicationLock('c1', 7)).toBe('/c1/bk/underreplication/locks/0000000000000007');
    expect(keys.electionPrefix('c1', keys.ELECTIONS.coordinator)).toBe('/c1/elections/coordinator/');
    expect(keys.broker('c1', 'b1:8080')).toBe('/c1/brokers/b1:8080');
    expect(keys.bundle('c1', 'public', 'default', keys.bundleRange(0, 0x40000000))).toBe(
      '/c1/bundles/public/default/0x00000000_0x40000000',
    );
    expect(keys.localPolicies('c1', 'public', 'default')).toBe(
      '/c1/namespaces/public/default/local-policies',
    );
    expect(keys.managedLedger('c1', 'public/default/persistent/t1')).toBe(
      '/c1/managed-ledgers/public%2Fdefault%2Fpersistent%2Ft1',
    );
    expect(keys.cursor('c1', 'public/default/persistent/t1', 'sub a')).toBe(
      '/c1/cursors/public%2Fdefault%2Fpersistent%2Ft1/sub%20a',
    );
    expect(keys.dedupState('c1', 'p/d/persistent/t')).toBe('/c1/dedup/p%2Fd%2Fpersistent%2Ft');
    expect(keys.clusterInfo('c1')).toBe('/global/clusters/c1');
    expect(keys.tenant('public')).toBe('/global/tenants/public');
    expect(keys.namespacePolicies('public', 'default')).toBe('/global/namespaces/public/default');
    expect(keys.partitionedTopic('public', 'default', 'persistent', 'orders/x')).toBe(
      '/global/partitioned-topics/public/default/persistent/orders%2Fx',
    );
  });

  it('rejects components that could escape their place', () => {
    rejects(() => keys.tenant('a/b'));
    rejects(() => keys.tenant(''));
    rejects(() => keys.tenant('..'));
    rejects(() => keys.cookie('c1', 'bk/../x'));
    rejects(() => keys.broker('global', 'b1'));
    rejects(() => keys.bookieRegistration('c1', 'gone' as keys.BookieState, 'b'));
    rejects(() => keys.ledger('c1', -1));
    rejects(() => keys.ledger('c1', 2 ** 53));
    rejects(() => keys.ledger('c1', 1.5));
    rejects(() => keys.bundle('c1', 't', 'n', '0x1_0x2'));
    rejects(() => keys.bundleRange(5, 5));
    rejects(() => keys.managedLedger('c1', ''));
    rejects(() => keys.managedLedger('c1', 'x'.repeat(2000)));
    rejects(() => keys.managedLedger('c1', '\ud800'));
    rejects(() => keys.partitionedTopic('t', 'n', 'other' as keys.TopicDomain, 'x'));
  });

  it('parses keys back, and refuses look-alikes', () => {
    const reg = keys.bookieRegistration('c1', 'readonly', 'bk-1:3181');
    expect(keys.parseBookieRegistrationKey(reg)).toEqual({
      cluster: 'c1',
      state: 'readonly',
      bookieId: 'bk-1:3181',
    });
    expect(keys.parseBookieRegistrationKey('/c1/bk/bookies/other/x')).toBeUndefined();
    expect(keys.parseCookieKey(keys.cookie('c1', 'bk-1'))).toEqual({ cluster: 'c1', bookieId: 'bk-1' });
    expect(keys.parseLedgerKey(keys.ledger('c1', 2 ** 53 - 1))).toEqual({
      cluster: 'c1',
      ledgerId: 2 ** 53 - 1,
    });
    expect(keys.parseLedgerKey('/c1/bk/ledgers/12')).toBeUndefined();
    expect(keys.parseLedgerKey('/c1/bk/ledgers/9999999999999999')).toBeUndefined();
    expect(keys.parseUnderReplicatedLedgerKey(keys.underReplicatedLedger('c1', 9))).toEqual({
      cluster: 'c1',
      ledgerId: 9,
    });
    expect(keys.parseBrokerKey(keys.broker('c1', 'b:1'))).toEqual({ cluster: 'c1', brokerId: 'b:1' });
    expect(keys.parseBundleKey(keys.bundle('c1', 't', 'n', '0x00000000_0xffffffff'))).toEqual({
      cluster: 'c1',
      tenant: 't',
      namespace: 'n',
      range: '0x00000000_0xffffffff',
      lower: 0,
      upper: 0xffffffff,
    });
    const name = 'persistent://t/n/weird name%/x';
    expect(keys.parseManagedLedgerKey(keys.managedLedger('c1', name))).toEqual({ cluster: 'c1', name });
    expect(keys.parseCursorKey(keys.cursor('c1', name, 'sub/1'))).toEqual({
      cluster: 'c1',
      managedLedgerName: name,
      cursorName: 'sub/1',
    });
    expect(keys.parseManagedLedgerKey('/c1/managed-ledgers/%zz')).toBeUndefined();
    expect(keys.parseClusterInfoKey(keys.clusterInfo('c2'))).toEqual({ cluster: 'c2' });
    expect(keys.parseTenantKey(keys.tenant('t'))).toEqual({ tenant: 't' });
    expect(keys.parseNamespaceKey(keys.namespacePolicies('t', 'n'))).toEqual({ tenant: 't', namespace: 'n' });
    expect(keys.parsePartitionedTopicKey(keys.partitionedTopic('t', 'n', 'persistent', 'a/b'))).toEqual({
      tenant: 't',
      namespace: 'n',
      domain: 'persistent',
      localName: 'a/b',
    });
    expect(keys.parseTenantKey('/global/tenants/t/extra')).toBeUndefined();
  });

  it('keeps prefixes from matching siblings and preserves name prefixes under encoding', () => {
    const all = keys.managedLedgersPrefix('c1');
    const ns = keys.managedLedgersPrefix('c1', 'public/default/');
    expect(keys.managedLedger('c1', 'public/default/persistent/a').startsWith(ns)).toBe(true);
    expect(keys.managedLedger('c1', 'public/defaultx/persistent/a').startsWith(ns)).toBe(false);
    expect(keys.managedLedger('c1', 'x').startsWith(all)).toBe(true);
    expect(keys.cursor('c1', 'ab', 's').startsWith(keys.cursorsPrefix('c1', 'a'))).toBe(false);
    expect(
      keys.bundle('c1', 't', 'n2', '0x00000000_0xffffffff').startsWith(keys.bundlesPrefix('c1', 't', 'n')),
    ).toBe(false);
  });

  it('sorts ledger keys in id order', () => {
    const ids = [10, 9, 100, 2 ** 40, 1];
    const sorted = ids.map((id) => keys.ledger('c', id)).sort();
    expect(sorted.map((k) => keys.parseLedgerKey(k)!.ledgerId)).toEqual([1, 9, 10, 100, 2 ** 40]);
  });
});
