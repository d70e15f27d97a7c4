/**
 * Ledger metadata as plain data (numbers instead of int64 bigints), its validation, and the
 * fragment arithmetic the protocol needs (internals.md §1.7, §1.10). Conversions to and from the
 * stored protobuf live here too, so no other file touches `LedgerMetadata` field by field.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  DigestType,
  LedgerMetadataSchema,
  type LedgerMetadata,
  LedgerState,
} from '../../gen/magnetar/meta/v1/meta_pb.ts';
import { assert } from '../../assert.ts';
import { ledgerError } from '../errors.ts';
import { isValidQuorum, type Quorum } from './distribution.ts';

export type LedgerStateName = 'open' | 'in-recovery' | 'closed';

export interface Segment {
  readonly bookieIds: readonly string[];
  readonly firstEntryId: number;
}

export interface LedgerMeta extends Quorum {
  readonly ledgerId: number;
  readonly state: LedgerStateName;
  /** -1 until closed (or closed empty). */
  readonly lastEntryId: number;
  readonly length: number;
  readonly segments: readonly Segment[];
  readonly password: Uint8Array;
  readonly ctimeMs: number;
  readonly customMetadata: Readonly<Record<string, string>>;
}

/** Metadata plus the store version it was read at (the CAS token). */
export interface VersionedMeta {
  readonly meta: LedgerMeta;
  readonly version: number;
}

/** Problems with a metadata value, or undefined if it is valid. */
export function metadataProblem(m: LedgerMeta): string | undefined {
  if (!Number.isSafeInteger(m.ledgerId) || m.ledgerId < 0) return 'bad ledger id';
  if (!isValidQuorum(m)) return `bad quorum ${m.ensembleSize}/${m.writeQuorum}/${m.ackQuorum}`;
  if (m.segments.length === 0) return 'no segments';
  if (m.segments[0].firstEntryId !== 0) return 'first segment does not start at entry 0';
  for (let i = 0; i < m.segments.length; i++) {
    const s = m.segments[i];
    if (s.bookieIds.length !== m.ensembleSize) return `segment ${i} has ${s.bookieIds.length} bookies`;
    if (new Set(s.bookieIds).size !== s.bookieIds.length) return `segment ${i} repeats a bookie`;
    if (i > 0 && s.firstEntryId <= m.segments[i - 1].firstEntryId) return `segment ${i} does not advance`;
  }
  if (m.state === 'closed') {
    if (m.lastEntryId < -1) return 'closed with a bad last entry';
    if (m.lastEntryId + 1 < m.segments[m.segments.length - 1].firstEntryId) {
      // A fragment that starts after the last entry holds nothing; recovery never creates one.
      return 'closed before its last fragment';
    }
  }
  return undefined;
}

export function assertValidMetadata(m: LedgerMeta): void {
  const problem = metadataProblem(m);
  if (problem) throw ledgerError('METADATA_CORRUPT', { ledgerId: m.ledgerId, reason: problem });
}

export function lastSegment(m: LedgerMeta): Segment {
  assert(m.segments.length > 0, 'ledger without segments', { ledgerId: m.ledgerId });
  return m.segments[m.segments.length - 1];
}

/** The segment holding `entryId` (segments are sorted by first entry id). */
export function segmentFor(m: LedgerMeta, entryId: number): Segment {
  const segs = m.segments;
  let lo = 0;
  let hi = segs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segs[mid].firstEntryId <= entryId) lo = mid;
    else hi = mid - 1;
  }
  return segs[lo];
}

export function ensembleFor(m: LedgerMeta, entryId: number): readonly string[] {
  return segmentFor(m, entryId).bookieIds;
}

/** Every bookie named anywhere in the ledger's metadata. */
export function allBookies(m: LedgerMeta): string[] {
  const set = new Set<string>();
  for (const s of m.segments) for (const b of s.bookieIds) set.add(b);
  return [...set];
}

export function sameSegments(a: readonly Segment[], b: readonly Segment[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].firstEntryId !== b[i].firstEntryId) return false;
    const x = a[i].bookieIds;
    const y = b[i].bookieIds;
    if (x.length !== y.length || x.some((id, j) => id !== y[j])) return false;
  }
  return true;
}

export function samePassword(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

const STATE_TO_PROTO = {
  open: LedgerState.OPEN,
  'in-recovery': LedgerState.IN_RECOVERY,
  closed: LedgerState.CLOSED,
} as const;

export function toProto(m: LedgerMeta): LedgerMetadata {
  return create(LedgerMetadataSchema, {
    ledgerId: BigInt(m.ledgerId),
    ensembleSize: m.ensembleSize,
    writeQuorum: m.writeQuorum,
    ackQuorum: m.ackQuorum,
    state: STATE_TO_PROTO[m.state],
    lastEntryId: BigInt(m.lastEntryId),
    length: BigInt(m.length),
    segments: m.segments.map((s) => ({ bookieIds: [...s.bookieIds], firstEntryId: BigInt(s.firstEntryId) })),
    digestType: DigestType.CRC32C,
    password: m.password,
    ctimeMs: BigInt(m.ctimeMs),
    customMetadata: { ...m.customMetadata },
  });
}

export function fromProto(p: LedgerMetadata): LedgerMeta {
  const state: LedgerStateName | undefined =
    p.state === LedgerState.OPEN
      ? 'open'
      : p.state === LedgerState.IN_RECOVERY
        ? 'in-recovery'
        : p.state === LedgerState.CLOSED
          ? 'closed'
          : undefined;
  const ledgerId = Number(p.ledgerId);
  if (state === undefined) throw ledgerError('METADATA_CORRUPT', { ledgerId, reason: `state ${p.state}` });
  if (p.digestType !== DigestType.CRC32C) {
    throw ledgerError('METADATA_CORRUPT', { ledgerId, reason: `digest type ${p.digestType}` });
  }
  const m: LedgerMeta = {
    ledgerId,
    ensembleSize: p.ensembleSize,
    writeQuorum: p.writeQuorum,
    ackQuorum: p.ackQuorum,
    state,
    lastEntryId: Number(p.lastEntryId),
    length: Number(p.length),
    segments: p.segments.map((s) => ({ bookieIds: [...s.bookieIds], firstEntryId: Number(s.firstEntryId) })),
    password: p.password,
    ctimeMs: Number(p.ctimeMs),
    customMetadata: { ...p.customMetadata },
  };
  assertValidMetadata(m);
  return m;
}

export function encodeMeta(m: LedgerMeta): Uint8Array {
  assertValidMetadata(m);
  return toBinary(LedgerMetadataSchema, toProto(m));
}

export function decodeMeta(bytes: Uint8Array, ledgerId: number): LedgerMeta {
  let p: LedgerMetadata;
  try {
    p = fromBinary(LedgerMetadataSchema, bytes);
  } catch (e) {
    throw ledgerError('METADATA_CORRUPT', { ledgerId, reason: (e as Error).message }, e);
  }
  const m = fromProto(p);
  if (m.ledgerId !== ledgerId) {
    throw ledgerError('METADATA_CORRUPT', { ledgerId, reason: `stored id ${m.ledgerId}` });
  }
  return m;
}
