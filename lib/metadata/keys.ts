/**
 * Every metadata key path of Magnetar, and nothing else builds one. Layout (README.md has the
 * table with values and lifetimes):
 *
 *   /global/...                 configuration store: tenants, namespaces, clusters, partitioned topics
 *   /<cluster>/bk/...           BookKeeper-style storage: bookies, cookies, ledgers, id counters, UR
 *   /<cluster>/...              brokers, bundles, managed ledgers, cursors, dedup, local policies, elections
 *
 * Paths are relative to the store's root prefix (the store adds it). Components are validated, so
 * no input can add a '/' and reach another key: names (cluster, tenant, namespace, broker, bookie)
 * must match Pulsar's name pattern; free-form strings (topic local names, managed-ledger names,
 * cursor names) are percent-encoded into one component. Encoding is per character, so the encoded
 * form of a prefix is a prefix of the encoded form: listing "managed ledgers whose name starts
 * with X" is a key-prefix scan. Prefix helpers end with '/' so `a` never matches `ab`.
 */
import { MetadataErrors } from './errors.ts';

/** Pulsar's NamedEntity rule for clusters, tenants, namespaces; also brokers and bookies. */
const NAME_PATTERN = /^[-=:.\w]+$/;
const MAX_COMPONENT_CHARS = 255;
const MAX_ENCODED_CHARS = 1024;
/** The cluster name that would collide with the configuration store (Pulsar reserves it too). */
export const GLOBAL_SCOPE = 'global';
/** Ledger ids are decimal, zero-padded to this width so keys sort in id order. */
const LEDGER_ID_DIGITS = 16;
const BUNDLE_RANGE_PATTERN = /^0x([0-9a-f]{8})_0x([0-9a-f]{8})$/;

export const TOPIC_DOMAINS = ['persistent', 'non-persistent'] as const;
export type TopicDomain = (typeof TOPIC_DOMAINS)[number];
export const BOOKIE_STATES = ['writable', 'readonly'] as const;
export type BookieState = (typeof BOOKIE_STATES)[number];

function invalid(what: string, value: unknown, why: string): never {
  throw MetadataErrors.make('INVALID_KEY', { what, value: JSON.stringify(value), why });
}

/** A name component: cluster, tenant, namespace, broker id, bookie id, election name. */
export function checkName(what: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) invalid(what, value, 'must be a non-empty string');
  if (value.length > MAX_COMPONENT_CHARS) invalid(what, value, `longer than ${MAX_COMPONENT_CHARS} chars`);
  if (!NAME_PATTERN.test(value)) invalid(what, value, 'allowed characters are letters, digits and - = : . _');
  if (value === '.' || value === '..') invalid(what, value, 'reserved');
  return value;
}

function checkCluster(cluster: string): string {
  checkName('cluster', cluster);
  if (cluster === GLOBAL_SCOPE) invalid('cluster', cluster, `"${GLOBAL_SCOPE}" is reserved`);
  return cluster;
}

/** Percent-encode a free-form string into one key component (reversible with decodeComponent). */
export function encodeComponent(what: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) invalid(what, value, 'must be a non-empty string');
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    invalid(what, value, 'not valid Unicode (lone surrogate)');
  }
  if (encoded.length > MAX_ENCODED_CHARS)
    invalid(what, value, `longer than ${MAX_ENCODED_CHARS} encoded chars`);
  return encoded;
}

/** Encoding of a name prefix (may be empty: everything). */
function encodePrefix(what: string, value: string): string {
  return value === '' ? '' : encodeComponent(what, value);
}

export function decodeComponent(encoded: string): string | undefined {
  try {
    const decoded = decodeURIComponent(encoded);
    return encodeURIComponent(decoded) === encoded ? decoded : undefined;
  } catch {
    return undefined;
  }
}

function checkLedgerId(ledgerId: number): number {
  if (!Number.isSafeInteger(ledgerId) || ledgerId < 0)
    invalid('ledger id', ledgerId, 'must be a safe integer >= 0');
  return ledgerId;
}

function ledgerIdComponent(ledgerId: number): string {
  return String(checkLedgerId(ledgerId)).padStart(LEDGER_ID_DIGITS, '0');
}

function parseLedgerIdComponent(s: string): number | undefined {
  if (!/^\d{16}$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

function checkDomain(domain: string): TopicDomain {
  if (!(TOPIC_DOMAINS as readonly string[]).includes(domain))
    invalid('topic domain', domain, 'not persistent|non-persistent');
  return domain as TopicDomain;
}

/** `0x%08x_0x%08x` as Pulsar writes bundle ranges; lower < upper. */
export function bundleRange(lower: number, upper: number): string {
  for (const v of [lower, upper]) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      invalid('bundle bound', v, 'must be an integer in 0 … 0xffffffff');
  }
  if (lower >= upper) invalid('bundle range', `${lower}_${upper}`, 'lower must be below upper');
  const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;
  return `${hex(lower)}_${hex(upper)}`;
}

export function parseBundleRange(range: string): { lower: number; upper: number } | undefined {
  const m = BUNDLE_RANGE_PATTERN.exec(range);
  if (!m) return undefined;
  const lower = Number.parseInt(m[1], 16);
  const upper = Number.parseInt(m[2], 16);
  return lower < upper ? { lower, upper } : undefined;
}

function checkBundleRange(range: string): string {
  if (!parseBundleRange(range)) invalid('bundle range', range, 'expected 0x%08x_0x%08x with lower < upper');
  return range;
}

const path = (...parts: string[]) => `/${parts.join('/')}`;
const bk = (cluster: string, ...rest: string[]) => path(checkCluster(cluster), 'bk', ...rest);

// ---- BookKeeper-style storage (cluster scoped) ----------------------------------------------

/** Cluster instance id, written once (create-if-absent) by the first bookie or by `initcluster`. */
export const instanceId = (cluster: string) => bk(cluster, 'instanceid');
/** Registration of a live bookie; bound to the bookie's session. */
export const bookieRegistration = (cluster: string, state: BookieState, bookieId: string) =>
  bk(cluster, 'bookies', checkBookieState(state), checkName('bookie id', bookieId));
export const bookieRegistrationsPrefix = (cluster: string, state: BookieState) =>
  `${bk(cluster, 'bookies', checkBookieState(state))}/`;
/** Persistent cookie of a bookie (create-if-absent on first boot). */
export const cookie = (cluster: string, bookieId: string) =>
  bk(cluster, 'cookies', checkName('bookie id', bookieId));
export const cookiesPrefix = (cluster: string) => `${bk(cluster, 'cookies')}/`;
export const ledger = (cluster: string, ledgerId: number) =>
  bk(cluster, 'ledgers', ledgerIdComponent(ledgerId));
export const ledgersPrefix = (cluster: string) => `${bk(cluster, 'ledgers')}/`;
/** Counter of the ledger id allocator (one per bucket; the allocator uses bucket 0 by default). */
export const ledgerIdCounter = (cluster: string, bucket = 0) => {
  if (!Number.isInteger(bucket) || bucket < 0 || bucket > 255)
    invalid('id bucket', bucket, 'must be 0 … 255');
  return bk(cluster, 'idgen', String(bucket).padStart(3, '0'));
};
export const underReplicatedLedger = (cluster: string, ledgerId: number) =>
  bk(cluster, 'underreplication', 'ledgers', ledgerIdComponent(ledgerId));
export const underReplicatedLedgersPrefix = (cluster: string) =>
  `${bk(cluster, 'underreplication', 'ledgers')}/`;
/** An operator's mark that a bookie is being retired: autorecovery copies its ledgers away. */
export const decommissionedBookie = (cluster: string, bookieId: string) =>
  bk(cluster, 'decommissioned', checkName('bookie id', bookieId));
export const decommissionedBookiesPrefix = (cluster: string) => `${bk(cluster, 'decommissioned')}/`;
/** Lock of the worker re-replicating a ledger; bound to the worker's session. */
export const underReplicationLock = (cluster: string, ledgerId: number) =>
  bk(cluster, 'underreplication', 'locks', ledgerIdComponent(ledgerId));

function checkBookieState(state: string): BookieState {
  if (!(BOOKIE_STATES as readonly string[]).includes(state))
    invalid('bookie state', state, 'not writable|readonly');
  return state as BookieState;
}

// ---- Elections ------------------------------------------------------------------------------

export const ELECTIONS = { auditor: 'auditor', coordinator: 'coordinator' } as const;
/** Candidates of an election live under this prefix (see election.ts). */
export const electionPrefix = (cluster: string, name: string) =>
  `${path(checkCluster(cluster), 'elections', checkName('election name', name))}/`;

// ---- Brokers, bundles, topics (cluster scoped) ------------------------------------------------

/** Liveness and load of a broker; bound to the broker's session. */
export const broker = (cluster: string, brokerId: string) =>
  path(checkCluster(cluster), 'brokers', checkName('broker id', brokerId));
export const brokersPrefix = (cluster: string) => `${path(checkCluster(cluster), 'brokers')}/`;
/** Ownership state of one bundle: {state, owner, dst, epoch}, CAS per transition. */
export const bundle = (cluster: string, tenant: string, namespace: string, range: string) =>
  path(
    checkCluster(cluster),
    'bundles',
    checkName('tenant', tenant),
    checkName('namespace', namespace),
    checkBundleRange(range),
  );
export const bundlesPrefix = (cluster: string, tenant: string, namespace: string) =>
  `${path(checkCluster(cluster), 'bundles', checkName('tenant', tenant), checkName('namespace', namespace))}/`;
export const allBundlesPrefix = (cluster: string) => `${path(checkCluster(cluster), 'bundles')}/`;
/**
 * Owner record of one bundle: names the owning broker and its ownership term; bound to that
 * broker's session and written/deleted in the same transaction as the bundle's state (lib/cluster).
 */
export const bundleOwner = (cluster: string, tenant: string, namespace: string, range: string) =>
  path(
    checkCluster(cluster),
    'bundle-owners',
    checkName('tenant', tenant),
    checkName('namespace', namespace),
    checkBundleRange(range),
  );
export const allBundleOwnersPrefix = (cluster: string) => `${path(checkCluster(cluster), 'bundle-owners')}/`;
/** Bundle boundaries and other cluster-local namespace state. */
export const localPolicies = (cluster: string, tenant: string, namespace: string) =>
  path(
    checkCluster(cluster),
    'namespaces',
    checkName('tenant', tenant),
    checkName('namespace', namespace),
    'local-policies',
  );
/** ManagedLedgerInfo of a managed ledger (name is opaque, e.g. "tenant/ns/persistent/topic"). */
export const managedLedger = (cluster: string, name: string) =>
  path(checkCluster(cluster), 'managed-ledgers', encodeComponent('managed ledger name', name));
/** Managed ledgers whose names start with `namePrefix` ('' for all). */
export const managedLedgersPrefix = (cluster: string, namePrefix = '') =>
  `${path(checkCluster(cluster), 'managed-ledgers')}/${encodePrefix('managed ledger name prefix', namePrefix)}`;
export const cursor = (cluster: string, managedLedgerName: string, cursorName: string) =>
  path(
    checkCluster(cluster),
    'cursors',
    encodeComponent('managed ledger name', managedLedgerName),
    encodeComponent('cursor name', cursorName),
  );
export const cursorsPrefix = (cluster: string, managedLedgerName: string) =>
  `${path(checkCluster(cluster), 'cursors', encodeComponent('managed ledger name', managedLedgerName))}/`;
/** Deduplication snapshot of a topic (highest sequence id per producer). */
export const dedupState = (cluster: string, managedLedgerName: string) =>
  path(checkCluster(cluster), 'dedup', encodeComponent('managed ledger name', managedLedgerName));

// ---- Configuration store (global) -------------------------------------------------------------

export const clusterInfo = (cluster: string) => path(GLOBAL_SCOPE, 'clusters', checkCluster(cluster));
export const clustersPrefix = () => `${path(GLOBAL_SCOPE, 'clusters')}/`;
export const tenant = (name: string) => path(GLOBAL_SCOPE, 'tenants', checkName('tenant', name));
export const tenantsPrefix = () => `${path(GLOBAL_SCOPE, 'tenants')}/`;
/** Namespace policies. */
export const namespacePolicies = (tenantName: string, namespace: string) =>
  path(GLOBAL_SCOPE, 'namespaces', checkName('tenant', tenantName), checkName('namespace', namespace));
export const namespacesPrefix = (tenantName: string) =>
  `${path(GLOBAL_SCOPE, 'namespaces', checkName('tenant', tenantName))}/`;
/** Partition count of a partitioned topic. */
export const partitionedTopic = (
  tenantName: string,
  namespace: string,
  domain: TopicDomain,
  localName: string,
) =>
  path(
    GLOBAL_SCOPE,
    'partitioned-topics',
    checkName('tenant', tenantName),
    checkName('namespace', namespace),
    checkDomain(domain),
    encodeComponent('topic name', localName),
  );
export const partitionedTopicsPrefix = (tenantName: string, namespace: string, domain: TopicDomain) =>
  `${path(GLOBAL_SCOPE, 'partitioned-topics', checkName('tenant', tenantName), checkName('namespace', namespace), checkDomain(domain))}/`;

/** Topic-level policy overrides of one topic (admin API, lib/policies). */
export const topicPolicies = (
  tenantName: string,
  namespace: string,
  domain: TopicDomain,
  localName: string,
) =>
  path(
    GLOBAL_SCOPE,
    'topic-policies',
    checkName('tenant', tenantName),
    checkName('namespace', namespace),
    checkDomain(domain),
    encodeComponent('topic name', localName),
  );
/** Every topic-level policy document of a namespace. */
export const topicPoliciesPrefix = (tenantName: string, namespace: string) =>
  `${path(GLOBAL_SCOPE, 'topic-policies', checkName('tenant', tenantName), checkName('namespace', namespace))}/`;

// ---- Parsing keys back ------------------------------------------------------------------------

/**
 * Split `key` into components if it has exactly the shape given: a string is a literal that must
 * match, `CLUSTER` / `NAME` a validated name, `ANY` any non-empty component.
 */
const CLUSTER = 1;
const NAME = 2;
const ANY = 3;
type Shape = readonly (string | typeof CLUSTER | typeof NAME | typeof ANY)[];

function match(key: string, shape: Shape): string[] | undefined {
  if (typeof key !== 'string' || !key.startsWith('/')) return undefined;
  const parts = key.slice(1).split('/');
  if (parts.length !== shape.length) return undefined;
  for (let i = 0; i < shape.length; i++) {
    const want = shape[i];
    const part = parts[i];
    const ok =
      typeof want === 'string'
        ? part === want
        : want === CLUSTER
          ? isName(part) && part !== GLOBAL_SCOPE
          : want === NAME
            ? isName(part)
            : part.length > 0;
    if (!ok) return undefined;
  }
  return parts;
}

const isName = (s: string) =>
  NAME_PATTERN.test(s) && s.length <= MAX_COMPONENT_CHARS && s !== '.' && s !== '..';

export function parseBookieRegistrationKey(
  key: string,
): { cluster: string; state: BookieState; bookieId: string } | undefined {
  const p = match(key, [CLUSTER, 'bk', 'bookies', ANY, NAME]);
  if (!p || !(BOOKIE_STATES as readonly string[]).includes(p[3])) return undefined;
  return { cluster: p[0], state: p[3] as BookieState, bookieId: p[4] };
}

export function parseCookieKey(key: string): { cluster: string; bookieId: string } | undefined {
  const p = match(key, [CLUSTER, 'bk', 'cookies', NAME]);
  return p && { cluster: p[0], bookieId: p[3] };
}

export function parseLedgerKey(key: string): { cluster: string; ledgerId: number } | undefined {
  const p = match(key, [CLUSTER, 'bk', 'ledgers', ANY]);
  const ledgerId = p && parseLedgerIdComponent(p[3]);
  return p && ledgerId !== undefined ? { cluster: p[0], ledgerId } : undefined;
}

export function parseUnderReplicatedLedgerKey(
  key: string,
): { cluster: string; ledgerId: number } | undefined {
  const p = match(key, [CLUSTER, 'bk', 'underreplication', 'ledgers', ANY]);
  const ledgerId = p && parseLedgerIdComponent(p[4]);
  return p && ledgerId !== undefined ? { cluster: p[0], ledgerId } : undefined;
}

export function parseBrokerKey(key: string): { cluster: string; brokerId: string } | undefined {
  const p = match(key, [CLUSTER, 'brokers', NAME]);
  return p && { cluster: p[0], brokerId: p[2] };
}

export function parseBundleKey(
  key: string,
):
  | { cluster: string; tenant: string; namespace: string; range: string; lower: number; upper: number }
  | undefined {
  const p = match(key, [CLUSTER, 'bundles', NAME, NAME, ANY]);
  const r = p && parseBundleRange(p[4]);
  return p && r ? { cluster: p[0], tenant: p[2], namespace: p[3], range: p[4], ...r } : undefined;
}

export function parseBundleOwnerKey(
  key: string,
): { cluster: string; tenant: string; namespace: string; range: string } | undefined {
  const p = match(key, [CLUSTER, 'bundle-owners', NAME, NAME, ANY]);
  return p && parseBundleRange(p[4])
    ? { cluster: p[0], tenant: p[2], namespace: p[3], range: p[4] }
    : undefined;
}

export function parseDecommissionedBookieKey(key: string): { cluster: string; bookieId: string } | undefined {
  const p = match(key, [CLUSTER, 'bk', 'decommissioned', NAME]);
  return p && { cluster: p[0], bookieId: p[3] };
}

export function parseManagedLedgerKey(key: string): { cluster: string; name: string } | undefined {
  const p = match(key, [CLUSTER, 'managed-ledgers', ANY]);
  const name = p && decodeComponent(p[2]);
  return p && name !== undefined ? { cluster: p[0], name } : undefined;
}

export function parseCursorKey(
  key: string,
): { cluster: string; managedLedgerName: string; cursorName: string } | undefined {
  const p = match(key, [CLUSTER, 'cursors', ANY, ANY]);
  if (!p) return undefined;
  const managedLedgerName = decodeComponent(p[2]);
  const cursorName = decodeComponent(p[3]);
  if (managedLedgerName === undefined || cursorName === undefined) return undefined;
  return { cluster: p[0], managedLedgerName, cursorName };
}

export function parseClusterInfoKey(key: string): { cluster: string } | undefined {
  const p = match(key, [GLOBAL_SCOPE, 'clusters', CLUSTER]);
  return p && { cluster: p[2] };
}

export function parseTenantKey(key: string): { tenant: string } | undefined {
  const p = match(key, [GLOBAL_SCOPE, 'tenants', NAME]);
  return p && { tenant: p[2] };
}

export function parseNamespaceKey(key: string): { tenant: string; namespace: string } | undefined {
  const p = match(key, [GLOBAL_SCOPE, 'namespaces', NAME, NAME]);
  return p && { tenant: p[2], namespace: p[3] };
}

export function parsePartitionedTopicKey(
  key: string,
): { tenant: string; namespace: string; domain: TopicDomain; localName: string } | undefined {
  const p = match(key, [GLOBAL_SCOPE, 'partitioned-topics', NAME, NAME, ANY, ANY]);
  if (!p || !(TOPIC_DOMAINS as readonly string[]).includes(p[4])) return undefined;
  const localName = decodeComponent(p[5]);
  if (localName === undefined) return undefined;
  return { tenant: p[2], namespace: p[3], domain: p[4] as TopicDomain, localName };
}

/** The last component of a key (e.g. a candidate id under an election prefix). */
export function lastComponent(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
