/**
 * The ownership driver: reads a bundle's state record and owner key, and applies a planned
 * transition (ownership-state.ts) as ONE metadata-store transaction: a CAS on the record's version,
 * the owner key put (bound to the claimer's session) or deleted in the same transaction, and the
 * plan's conditions as checks. A lost race is reported as a conflict, never retried blindly; a
 * TIMEOUT (outcome unknown) is resolved by re-reading.
 */
import type { MetadataStore, Session, TxnOp, Version } from '../metadata/store.ts';
import { MetadataErrors } from '../metadata/errors.ts';
import * as keys from '../metadata/keys.ts';
import { applySplit, type BundleRange, formatRange, rangesOf } from './bundle-range.ts';
import {
  decodeBoundaries,
  decodeBundleRecord,
  decodeOwnerKey,
  encodeBoundaries,
  encodeBundleRecord,
  encodeOwnerKey,
} from './codec.ts';
import { ClusterErrors } from './errors.ts';
import {
  type BundleRecord,
  type OwnerKey,
  type Plan,
  plan,
  type Snapshot,
  type Transition,
} from './ownership-state.ts';

export interface BundleId {
  readonly tenant: string;
  readonly namespace: string;
  readonly range: BundleRange;
}

/** `tenant/namespace/0xLLLLLLLL_0xUUUUUUUU`, Pulsar's bundle key format. */
export function bundleName(id: BundleId): string {
  return `${id.tenant}/${id.namespace}/${formatRange(id.range)}`;
}

export interface StoredBundle {
  readonly record: BundleRecord | undefined;
  readonly recordVersion: Version | undefined;
  readonly ownerKey: OwnerKey | undefined;
  readonly ownerVersion: Version | undefined;
}

export type ApplyResult =
  | { readonly ok: true; readonly record: BundleRecord | undefined; readonly version: Version }
  | { readonly ok: false; readonly conflict: boolean; readonly why: string };

export interface ApplyOptions {
  /** Session the owner key is bound to (claim). */
  readonly session?: Session;
  /** finish-split: the namespace boundaries as read (version) to CAS together with the split. */
  readonly boundaries?: { readonly value: readonly number[]; readonly version: Version };
  /**
   * Creating a record where none was (assign of a never-seen bundle): the boundaries version the
   * range was computed from, checked in the same transaction so a concurrent split cannot leave a
   * record for a range that no longer exists.
   */
  readonly boundariesVersion?: Version;
}

export class OwnershipStore {
  readonly store: MetadataStore;
  readonly cluster: string;

  constructor(store: MetadataStore, cluster: string) {
    this.store = store;
    this.cluster = cluster;
  }

  recordKey(id: BundleId): string {
    return keys.bundle(this.cluster, id.tenant, id.namespace, formatRange(id.range));
  }

  ownerKeyOf(id: BundleId): string {
    return keys.bundleOwner(this.cluster, id.tenant, id.namespace, formatRange(id.range));
  }

  registrationKey(brokerId: string): string {
    return keys.broker(this.cluster, brokerId);
  }

  boundariesKey(tenant: string, namespace: string): string {
    return keys.localPolicies(this.cluster, tenant, namespace);
  }

  async read(id: BundleId): Promise<StoredBundle> {
    const [rec, own] = await Promise.all([
      this.store.get(this.recordKey(id)),
      this.store.get(this.ownerKeyOf(id)),
    ]);
    return {
      record: rec ? decodeBundleRecord(rec.key, rec.value) : undefined,
      recordVersion: rec?.version,
      ownerKey: own ? decodeOwnerKey(own.key, own.value) : undefined,
      ownerVersion: own?.version,
    };
  }

  async readBoundaries(
    tenant: string,
    namespace: string,
  ): Promise<{ value: number[]; version: Version } | undefined> {
    const e = await this.store.get(this.boundariesKey(tenant, namespace));
    return e ? { value: decodeBoundaries(e.key, e.value), version: e.version } : undefined;
  }

  /** Plan `t` against `taken` and apply it atomically. */
  async transition(
    id: BundleId,
    taken: StoredBundle,
    t: Transition,
    ctx: { registered: (brokerId: string) => boolean; nowMs: number } & ApplyOptions,
  ): Promise<ApplyResult> {
    const snapshot: Snapshot = {
      record: taken.record,
      ownerKey: taken.ownerKey,
      registered: ctx.registered,
      nowMs: ctx.nowMs,
    };
    const p = plan(snapshot, t);
    if (!p.ok) return { ok: false, conflict: false, why: p.why };
    return this.apply(id, taken, p, ctx);
  }

  /** Read fresh, plan and apply once. */
  async transitionFresh(
    id: BundleId,
    t: Transition,
    ctx: { registered: (brokerId: string) => boolean; nowMs: number; session?: Session },
  ): Promise<ApplyResult> {
    const taken = await this.read(id);
    const needBoundaries = t.kind === 'finish-split' || taken.recordVersion === undefined;
    const boundaries = needBoundaries ? await this.readBoundaries(id.tenant, id.namespace) : undefined;
    if (needBoundaries && !boundaries)
      return { ok: false, conflict: false, why: 'namespace has no bundle boundaries' };
    return this.transition(id, taken, t, { ...ctx, boundaries, boundariesVersion: boundaries?.version });
  }

  async apply(id: BundleId, taken: StoredBundle, p: Plan, opts: ApplyOptions = {}): Promise<ApplyResult> {
    const ops = this.buildOps(id, taken, p, opts);
    try {
      const versions = await this.store.txn(ops);
      const next = p.next === 'deleted' ? undefined : p.next;
      return { ok: true, record: next, version: versions.find((v) => v !== undefined) ?? 0 };
    } catch (err) {
      if (isCasFailure(err)) return { ok: false, conflict: true, why: (err as Error).message };
      if (MetadataErrors.is(err, 'TIMEOUT')) return this.resolveUnknown(id, p, err);
      if (MetadataErrors.is(err, 'SESSION_LOST') || MetadataErrors.is(err, 'SESSION_CLOSED'))
        return { ok: false, conflict: true, why: (err as Error).message };
      if (MetadataErrors.is(err, 'UNAVAILABLE'))
        throw ClusterErrors.make(
          'METADATA_UNAVAILABLE',
          { operation: `bundle ${bundleName(id)} transition` },
          err,
        );
      throw err;
    }
  }

  private buildOps(id: BundleId, taken: StoredBundle, p: Plan, opts: ApplyOptions): TxnOp[] {
    const recordKey = this.recordKey(id);
    const ownerKey = this.ownerKeyOf(id);
    const ops: TxnOp[] = [];
    if (p.next === 'deleted') {
      ops.push({ op: 'delete', key: recordKey, expectedVersion: taken.recordVersion });
    } else {
      ops.push({
        op: 'put',
        key: recordKey,
        value: encodeBundleRecord(p.next),
        expectedVersion: taken.recordVersion ?? 'absent',
      });
    }
    const ownerExpect: Version | 'absent' =
      p.conditions.some((c) => c.on === 'owner-key' && c.expect === 'absent') ||
      taken.ownerVersion === undefined
        ? 'absent'
        : taken.ownerVersion;
    switch (p.ownerKey.action) {
      case 'bind':
        if (!opts.session)
          throw ClusterErrors.make('TRANSITION_REJECTED', {
            bundle: bundleName(id),
            transition: 'claim',
            state: taken.record?.state ?? 'free',
            why: 'no session to bind the owner key to',
          });
        ops.push({
          op: 'put',
          key: ownerKey,
          value: encodeOwnerKey(p.ownerKey.value),
          expectedVersion: 'absent',
          session: opts.session,
        });
        break;
      case 'unbind':
        if (ownerExpect === 'absent') ops.push({ op: 'check', key: ownerKey, expectedVersion: 'absent' });
        else ops.push({ op: 'delete', key: ownerKey, expectedVersion: ownerExpect });
        break;
      case 'keep':
        if (p.conditions.some((c) => c.on === 'owner-key'))
          ops.push({ op: 'check', key: ownerKey, expectedVersion: ownerExpect });
        break;
    }
    if (taken.recordVersion === undefined && p.next !== 'deleted') {
      if (opts.boundariesVersion === undefined)
        throw ClusterErrors.make('TRANSITION_REJECTED', {
          bundle: bundleName(id),
          transition: 'create',
          state: 'free',
          why: 'creating a bundle record needs the boundaries version it was computed from',
        });
      ops.push({
        op: 'check',
        key: this.boundariesKey(id.tenant, id.namespace),
        expectedVersion: opts.boundariesVersion,
      });
    }
    for (const c of p.conditions) {
      if (c.on === 'registration')
        ops.push({ op: 'check', key: this.registrationKey(c.broker), expectedVersion: 'absent' });
    }
    if (p.next === 'deleted') ops.push(...this.splitOps(id, taken, p, opts));
    return ops;
  }

  private splitOps(id: BundleId, taken: StoredBundle, p: Plan, opts: ApplyOptions): TxnOp[] {
    const points = taken.record?.splitPoints ?? [];
    const b = opts.boundaries;
    if (!b)
      throw ClusterErrors.make('TRANSITION_REJECTED', {
        bundle: bundleName(id),
        transition: 'finish-split',
        state: 'splitting',
        why: 'namespace boundaries not read',
      });
    const next = applySplit(b.value, id.range, points);
    const children = rangesOf([id.range.lower, ...points, id.range.upper]);
    const ops: TxnOp[] = [
      {
        op: 'put',
        key: this.boundariesKey(id.tenant, id.namespace),
        value: encodeBoundaries(next),
        expectedVersion: b.version,
      },
    ];
    children.forEach((range, i) => {
      const child = p.children?.[i];
      if (!child) return;
      ops.push({
        op: 'put',
        key: this.recordKey({ ...id, range }),
        value: encodeBundleRecord(child),
        expectedVersion: 'absent',
      });
    });
    return ops;
  }

  /**
   * Split a bundle nobody holds (no record, or Free): only the boundaries change, conditioned on
   * the record staying as read (a Free record is removed; its children start with no record).
   */
  async splitUnowned(
    id: BundleId,
    taken: StoredBundle,
    boundaries: { readonly value: readonly number[]; readonly version: Version },
    points: readonly number[],
  ): Promise<ApplyResult> {
    if (taken.record && taken.record.state !== 'free')
      return { ok: false, conflict: false, why: `bundle is ${taken.record.state}` };
    const next = applySplit(boundaries.value, id.range, points);
    const ops: TxnOp[] = [
      {
        op: 'put',
        key: this.boundariesKey(id.tenant, id.namespace),
        value: encodeBoundaries(next),
        expectedVersion: boundaries.version,
      },
      taken.recordVersion === undefined
        ? { op: 'check', key: this.recordKey(id), expectedVersion: 'absent' }
        : { op: 'delete', key: this.recordKey(id), expectedVersion: taken.recordVersion },
      { op: 'check', key: this.ownerKeyOf(id), expectedVersion: 'absent' },
    ];
    try {
      const [version] = await this.store.txn(ops);
      return { ok: true, record: undefined, version: version ?? 0 };
    } catch (err) {
      if (isCasFailure(err)) return { ok: false, conflict: true, why: (err as Error).message };
      throw err;
    }
  }

  /** A TIMEOUT left the outcome unknown: applied iff the record now is exactly what we wrote. */
  private async resolveUnknown(id: BundleId, p: Plan, err: unknown): Promise<ApplyResult> {
    const now = await this.read(id);
    const wanted = p.next === 'deleted' ? undefined : p.next;
    const applied =
      wanted === undefined
        ? now.record === undefined
        : now.record !== undefined &&
          now.record.state === wanted.state &&
          now.record.changedAtMs === wanted.changedAtMs &&
          now.record.changedBy === wanted.changedBy &&
          now.record.epoch === wanted.epoch;
    if (applied) return { ok: true, record: now.record, version: now.recordVersion ?? 0 };
    return {
      ok: false,
      conflict: true,
      why: `outcome unknown after timeout, not applied: ${(err as Error).message}`,
    };
  }
}

function isCasFailure(err: unknown): boolean {
  return (
    MetadataErrors.is(err, 'BAD_VERSION') ||
    MetadataErrors.is(err, 'KEY_EXISTS') ||
    MetadataErrors.is(err, 'NO_SUCH_KEY')
  );
}
