/**
 * Validation of request bodies and stored documents. A body of the wrong JSON shape is BAD_BODY
 * (400); a well-formed value outside its allowed range is INVALID_POLICY (412), as in Pulsar.
 * Validators return fresh objects holding only the known fields, so nothing unvalidated is stored.
 */
import { policyErrors } from './errors.ts';
import {
  AUTH_ACTIONS,
  type AuthAction,
  type AutoTopicCreationOverride,
  BACKLOG_QUOTA_POLICIES,
  BACKLOG_QUOTA_TYPES,
  type BacklogQuota,
  type BacklogQuotaType,
  type ClusterData,
  type DispatchRate,
  type PersistencePolicies,
  type PublishRate,
  type RetentionPolicies,
  type SubscribeRate,
  type TenantInfo,
  TOPIC_TYPES,
} from './types.ts';

type Obj = Record<string, unknown>;

const MAX_LIST_ITEMS = 1000;
const MAX_STRING_LENGTH = 4096;

export function badBody(why: string): Error {
  return policyErrors.make('BAD_BODY', { why });
}

export function invalid(policy: string, why: string): Error {
  return policyErrors.make('INVALID_POLICY', { policy, why });
}

export function asObject(body: unknown, what: string): Obj {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badBody(`${what} must be a JSON object`);
  }
  return body as Obj;
}

function field<T>(o: Obj, name: string, check: (v: unknown) => v is T, type: string): T | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (!check(v)) throw badBody(`field ${name} must be ${type}`);
  return v;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_STRING_LENGTH;

export function intField(o: Obj, name: string): number | undefined {
  return field(o, name, isInt, 'an integer');
}
export function numField(o: Obj, name: string): number | undefined {
  return field(o, name, isNum, 'a number');
}
export function boolField(o: Obj, name: string): boolean | undefined {
  return field(o, name, isBool, 'a boolean');
}
export function strField(o: Obj, name: string): string | undefined {
  return field(o, name, isStr, 'a string');
}

export function stringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v)) throw badBody(`${what} must be a JSON array of strings`);
  if (v.length > MAX_LIST_ITEMS) throw badBody(`${what} has more than ${MAX_LIST_ITEMS} items`);
  for (const s of v) {
    if (!isStr(s) || s.length === 0) throw badBody(`${what} must hold non-empty strings`);
  }
  return [...new Set(v as string[])];
}

export function parseInteger(body: unknown, what: string): number {
  const v = typeof body === 'string' && /^-?\d+$/.test(body.trim()) ? Number(body.trim()) : body;
  if (!isInt(v)) throw badBody(`${what} must be an integer`);
  return v;
}

export function parseBoolean(body: unknown, what: string): boolean {
  if (body === 'true' || body === 'false') return body === 'true';
  if (!isBool(body)) throw badBody(`${what} must be true or false`);
  return body;
}

export function parseClusterData(body: unknown): ClusterData {
  const o = body === undefined || body === null ? {} : asObject(body, 'ClusterData');
  const out: ClusterData = {};
  for (const name of [
    'serviceUrl',
    'serviceUrlTls',
    'brokerServiceUrl',
    'brokerServiceUrlTls',
    'authenticationPlugin',
    'authenticationParameters',
    'brokerClientTrustCertsFilePath',
    'proxyServiceUrl',
    'proxyProtocol',
  ] as const) {
    const v = strField(o, name);
    if (v !== undefined) out[name] = v;
  }
  const tls = boolField(o, 'brokerClientTlsEnabled');
  if (tls !== undefined) out.brokerClientTlsEnabled = tls;
  if (o.peerClusterNames !== undefined && o.peerClusterNames !== null) {
    out.peerClusterNames = stringList(o.peerClusterNames, 'peerClusterNames');
  }
  return out;
}

export function parseTenantInfo(body: unknown): TenantInfo {
  const o = body === undefined || body === null ? {} : asObject(body, 'TenantInfo');
  return {
    adminRoles: o.adminRoles == null ? [] : stringList(o.adminRoles, 'adminRoles'),
    allowedClusters: o.allowedClusters == null ? [] : stringList(o.allowedClusters, 'allowedClusters'),
  };
}

export function parseRetention(body: unknown): RetentionPolicies {
  const o = asObject(body, 'RetentionPolicies');
  const time = intField(o, 'retentionTimeInMinutes') ?? 0;
  const size = intField(o, 'retentionSizeInMB') ?? 0;
  if (time < -1 || size < -1) throw invalid('retention', 'values must be -1 (infinite) or >= 0');
  // Pulsar refuses a retention with exactly one of the two limits at 0 and the other set.
  if ((time === 0 && size !== 0) || (size === 0 && time !== 0)) {
    throw invalid('retention', 'time and size must both be 0 or both be non-zero');
  }
  return { retentionTimeInMinutes: time, retentionSizeInMB: size };
}

export function parseNonNegative(body: unknown, policy: string): number {
  const n = parseInteger(body, policy);
  if (n < 0) throw invalid(policy, 'must be >= 0');
  return n;
}

export function parseBacklogQuotaType(value: unknown): BacklogQuotaType {
  if (value === undefined || value === null || value === '') return 'destination_storage';
  if (typeof value === 'string' && (BACKLOG_QUOTA_TYPES as readonly string[]).includes(value)) {
    return value as BacklogQuotaType;
  }
  throw invalid('backlogQuotaType', `must be one of ${BACKLOG_QUOTA_TYPES.join(', ')}`);
}

export function parseBacklogQuota(body: unknown): BacklogQuota {
  const o = asObject(body, 'BacklogQuota');
  // `limit` is the deprecated name of `limitSize`.
  const limitSize = intField(o, 'limitSize') ?? intField(o, 'limit') ?? -1;
  const limitTime = intField(o, 'limitTime') ?? -1;
  const policy = strField(o, 'policy') ?? 'producer_request_hold';
  if (!(BACKLOG_QUOTA_POLICIES as readonly string[]).includes(policy)) {
    throw invalid('backlogQuota', `policy must be one of ${BACKLOG_QUOTA_POLICIES.join(', ')}`);
  }
  if (limitSize < -1 || limitTime < -1) throw invalid('backlogQuota', 'limits must be -1 or >= 0');
  return { limitSize, limitTime, policy: policy as BacklogQuota['policy'] };
}

export function parseDispatchRate(body: unknown, policy = 'dispatchRate'): DispatchRate {
  const o = asObject(body, 'DispatchRate');
  const out: DispatchRate = {
    dispatchThrottlingRateInMsg: intField(o, 'dispatchThrottlingRateInMsg') ?? -1,
    dispatchThrottlingRateInByte: intField(o, 'dispatchThrottlingRateInByte') ?? -1,
    ratePeriodInSecond: intField(o, 'ratePeriodInSecond') ?? 1,
    relativeToPublishRate: boolField(o, 'relativeToPublishRate') ?? false,
  };
  if (out.ratePeriodInSecond < 1) throw invalid(policy, 'ratePeriodInSecond must be >= 1');
  if (out.dispatchThrottlingRateInMsg < -1 || out.dispatchThrottlingRateInByte < -1) {
    throw invalid(policy, 'rates must be -1 (off) or >= 0');
  }
  return out;
}

export function parsePublishRate(body: unknown): PublishRate {
  const o = asObject(body, 'PublishRate');
  const out: PublishRate = {
    publishThrottlingRateInMsg: intField(o, 'publishThrottlingRateInMsg') ?? -1,
    publishThrottlingRateInByte: intField(o, 'publishThrottlingRateInByte') ?? -1,
  };
  if (out.publishThrottlingRateInMsg < -1 || out.publishThrottlingRateInByte < -1) {
    throw invalid('publishRate', 'rates must be -1 (off) or >= 0');
  }
  return out;
}

export function parseSubscribeRate(body: unknown): SubscribeRate {
  const o = asObject(body, 'SubscribeRate');
  const out: SubscribeRate = {
    subscribeThrottlingRatePerConsumer: intField(o, 'subscribeThrottlingRatePerConsumer') ?? -1,
    ratePeriodInSecond: intField(o, 'ratePeriodInSecond') ?? 30,
  };
  if (out.ratePeriodInSecond < 1) throw invalid('subscribeRate', 'ratePeriodInSecond must be >= 1');
  if (out.subscribeThrottlingRatePerConsumer < -1) throw invalid('subscribeRate', 'rate must be -1 or >= 0');
  return out;
}

/** `maxQuorum` bounds the ensemble (a persistence policy no cluster could satisfy is refused). */
export function parsePersistence(body: unknown, maxEnsemble: number): PersistencePolicies {
  const o = asObject(body, 'PersistencePolicies');
  const out: PersistencePolicies = {
    bookkeeperEnsemble: intField(o, 'bookkeeperEnsemble') ?? 0,
    bookkeeperWriteQuorum: intField(o, 'bookkeeperWriteQuorum') ?? 0,
    bookkeeperAckQuorum: intField(o, 'bookkeeperAckQuorum') ?? 0,
    managedLedgerMaxMarkDeleteRate: numField(o, 'managedLedgerMaxMarkDeleteRate') ?? 0,
  };
  const { bookkeeperEnsemble: e, bookkeeperWriteQuorum: qw, bookkeeperAckQuorum: qa } = out;
  if (!(e >= qw && qw >= qa && qa >= 1)) {
    throw invalid(
      'persistence',
      `Bookkeeper Ensemble (${e}) >= WriteQuorum (${qw}) >= AckQuorum (${qa}) >= 1`,
    );
  }
  if (e > maxEnsemble) throw invalid('persistence', `ensemble ${e} exceeds the maximum ${maxEnsemble}`);
  if (out.managedLedgerMaxMarkDeleteRate < 0) {
    throw invalid('persistence', 'managedLedgerMaxMarkDeleteRate must be >= 0');
  }
  return out;
}

export function parseAutoTopicCreation(body: unknown, maxPartitions: number): AutoTopicCreationOverride {
  const o = asObject(body, 'AutoTopicCreationOverride');
  const allow = boolField(o, 'allowAutoTopicCreation');
  if (allow === undefined) throw badBody('field allowAutoTopicCreation is required');
  const topicType = strField(o, 'topicType');
  const defaultNumPartitions = intField(o, 'defaultNumPartitions');
  const out: AutoTopicCreationOverride = { allowAutoTopicCreation: allow };
  if (!allow) return out;
  if (topicType === undefined || !(TOPIC_TYPES as readonly string[]).includes(topicType)) {
    throw invalid('autoTopicCreation', `topicType must be one of ${TOPIC_TYPES.join(', ')}`);
  }
  out.topicType = topicType as AutoTopicCreationOverride['topicType'];
  if (out.topicType === 'partitioned') {
    if (
      defaultNumPartitions === undefined ||
      defaultNumPartitions < 1 ||
      defaultNumPartitions > maxPartitions
    ) {
      throw invalid('autoTopicCreation', `defaultNumPartitions must be between 1 and ${maxPartitions}`);
    }
    out.defaultNumPartitions = defaultNumPartitions;
  } else if (defaultNumPartitions !== undefined) {
    throw invalid('autoTopicCreation', 'defaultNumPartitions is only for partitioned topics');
  }
  return out;
}

export function parseActions(body: unknown): AuthAction[] {
  const list = stringList(body, 'actions');
  for (const a of list) {
    if (!(AUTH_ACTIONS as readonly string[]).includes(a)) {
      throw invalid('permissions', `unknown action "${a}"; known: ${AUTH_ACTIONS.join(', ')}`);
    }
  }
  return list as AuthAction[];
}

export function checkRole(role: string): void {
  if (role.length === 0 || role.length > MAX_STRING_LENGTH)
    throw invalid('role', 'must be 1..4096 characters');
}
