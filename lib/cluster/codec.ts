/**
 * Encoding of the cluster-control values (proto/magnetar/cluster/v1/cluster.proto) to and from the
 * plain objects the pure modules use. A value that does not decode, or decodes into something that
 * breaks an invariant (bad state, bad boundaries), is CORRUPT_RECORD naming the key.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  type BrokerRegistration,
  BrokerRegistrationSchema,
  BundleOwnerSchema,
  BundleRecordSchema,
  BundleState as PbState,
  NamespaceBundlesSchema,
  type UnderReplicatedLedger,
  UnderReplicatedLedgerSchema,
} from '../gen/magnetar/cluster/v1/cluster_pb.ts';
import { boundariesProblem } from './bundle-range.ts';
import { ClusterErrors } from './errors.ts';
import { type BundleRecord, type BundleState, BundleStates, type OwnerKey } from './ownership-state.ts';

const TO_PB: Record<BundleState, number> = {
  free: PbState.FREE,
  assigning: PbState.ASSIGNING,
  owned: PbState.OWNED,
  releasing: PbState.RELEASING,
  splitting: PbState.SPLITTING,
};
const FROM_PB = new Map<number, BundleState>(Object.entries(TO_PB).map(([k, v]) => [v, k as BundleState]));

function corrupt(key: string, why: string, cause?: unknown): never {
  throw ClusterErrors.make('CORRUPT_RECORD', { key, why }, cause);
}

function parse<T>(key: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    return corrupt(key, `not a ${what}: ${(e as Error).message}`, e);
  }
}

export function encodeBundleRecord(r: BundleRecord): Uint8Array {
  return toBinary(
    BundleRecordSchema,
    create(BundleRecordSchema, {
      state: TO_PB[r.state] as PbState,
      owner: r.owner,
      ownerSession: r.ownerSession,
      destination: r.destination,
      epoch: BigInt(r.epoch),
      previousOwner: r.previousOwner,
      movedAtMs: BigInt(r.movedAtMs),
      changedAtMs: BigInt(r.changedAtMs),
      changedBy: r.changedBy,
      reason: r.reason,
      splitPoints: [...r.splitPoints],
    }),
  );
}

export function decodeBundleRecord(key: string, bytes: Uint8Array): BundleRecord {
  const m = parse(key, 'BundleRecord', () => fromBinary(BundleRecordSchema, bytes));
  const state = FROM_PB.get(m.state);
  if (!state) corrupt(key, `unknown bundle state ${m.state}`);
  const r: BundleRecord = {
    state,
    owner: m.owner,
    ownerSession: m.ownerSession,
    destination: m.destination,
    epoch: Number(m.epoch),
    previousOwner: m.previousOwner,
    movedAtMs: Number(m.movedAtMs),
    changedAtMs: Number(m.changedAtMs),
    changedBy: m.changedBy,
    reason: m.reason,
    splitPoints: [...m.splitPoints],
  };
  const holder =
    state === BundleStates.Owned || state === BundleStates.Releasing || state === BundleStates.Splitting;
  if (holder && !r.owner) corrupt(key, `${state} without an owner`);
  if (state === BundleStates.Assigning && !r.destination) corrupt(key, 'assigning without a destination');
  if (state === BundleStates.Splitting && r.splitPoints.length === 0)
    corrupt(key, 'splitting without cut points');
  return r;
}

export function encodeOwnerKey(o: OwnerKey): Uint8Array {
  return toBinary(
    BundleOwnerSchema,
    create(BundleOwnerSchema, { brokerId: o.broker, epoch: BigInt(o.epoch), sessionId: o.sessionId }),
  );
}

export function decodeOwnerKey(key: string, bytes: Uint8Array): OwnerKey {
  const m = parse(key, 'BundleOwner', () => fromBinary(BundleOwnerSchema, bytes));
  if (!m.brokerId) corrupt(key, 'owner record without a broker id');
  return { broker: m.brokerId, epoch: Number(m.epoch), sessionId: m.sessionId };
}

export function encodeBoundaries(boundaries: readonly number[]): Uint8Array {
  return toBinary(NamespaceBundlesSchema, create(NamespaceBundlesSchema, { boundaries: [...boundaries] }));
}

export function decodeBoundaries(key: string, bytes: Uint8Array): number[] {
  const m = parse(key, 'NamespaceBundles', () => fromBinary(NamespaceBundlesSchema, bytes));
  const problem = boundariesProblem(m.boundaries);
  if (problem) corrupt(key, `bad bundle boundaries: ${problem}`);
  return [...m.boundaries];
}

export function encodeRegistration(r: BrokerRegistration): Uint8Array {
  return toBinary(BrokerRegistrationSchema, r);
}

export function decodeRegistration(key: string, bytes: Uint8Array): BrokerRegistration {
  const m = parse(key, 'BrokerRegistration', () => fromBinary(BrokerRegistrationSchema, bytes));
  if (!m.brokerId) corrupt(key, 'registration without a broker id');
  return m;
}

export function encodeUnderReplicated(u: UnderReplicatedLedger): Uint8Array {
  return toBinary(UnderReplicatedLedgerSchema, u);
}

export function decodeUnderReplicated(key: string, bytes: Uint8Array): UnderReplicatedLedger {
  return parse(key, 'UnderReplicatedLedger', () => fromBinary(UnderReplicatedLedgerSchema, bytes));
}
