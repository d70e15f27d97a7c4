import { describe, expect, it } from 'vitest';
import { decodeMeta, encodeMeta, type LedgerMeta, metadataProblem, segmentFor } from './metadata.ts';

const m: LedgerMeta = {
  ledgerId: 2 ** 40,
  ensembleSize: 2,
  writeQuorum: 2,
  ackQuorum: 1,
  state: 'closed',
  lastEntryId: 30,
  length: 1234,
  segments: [
    { bookieIds: ['a', 'b'], firstEntryId: 0 },
    { bookieIds: ['a', 'c'], firstEntryId: 10 },
    { bookieIds: ['d', 'c'], firstEntryId: 25 },
  ],
  password: Buffer.from('pw'),
  ctimeMs: 1_700_000_000_000,
  customMetadata: { topic: 'persistent://t/n/x' },
};

describe('ledger metadata', () => {
  it('round-trips through the stored protobuf', () => {
    const back = decodeMeta(encodeMeta(m), m.ledgerId);
    expect({ ...back, password: Buffer.from(back.password) }).toEqual(m);
  });

  it('finds the fragment of an entry', () => {
    expect(segmentFor(m, 0).firstEntryId).toBe(0);
    expect(segmentFor(m, 9).firstEntryId).toBe(0);
    expect(segmentFor(m, 10).firstEntryId).toBe(10);
    expect(segmentFor(m, 1000).firstEntryId).toBe(25);
  });

  it('rejects what the protocol never writes', () => {
    expect(metadataProblem(m)).toBeUndefined();
    expect(metadataProblem({ ...m, segments: [m.segments[1]] })).toMatch(/entry 0/);
    expect(metadataProblem({ ...m, segments: [m.segments[0], m.segments[0]] })).toMatch(/advance/);
    expect(metadataProblem({ ...m, segments: [{ bookieIds: ['a', 'a'], firstEntryId: 0 }] })).toMatch(
      /repeats/,
    );
    expect(metadataProblem({ ...m, ackQuorum: 3 })).toMatch(/quorum/);
    expect(metadataProblem({ ...m, lastEntryId: 5 })).toMatch(/before its last fragment/);
    expect(() => decodeMeta(Buffer.from([0xff, 0xff]), 1)).toThrow(/METADATA_CORRUPT/);
    expect(() => decodeMeta(encodeMeta(m), 7)).toThrow(/stored id/);
  });
});
