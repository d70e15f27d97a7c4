/**
 * What the simulated clients observed, and the invariants checked against it:
 * - confirmations come out contiguous and in order (0, 1, 2, ...);
 * - every confirmed entry, and every LAC a reader saw, is ≤ the final last entry (nothing
 *   confirmed is lost, whoever recovers);
 * - every entry up to the final last entry reads back with the payload the writer gave it;
 * - every recoverer and a writer that closed agree with the final metadata on the last entry.
 */
export interface History {
  readonly payloadOf: (entryId: number) => Buffer;
  readonly confirmed: number[];
  readonly appendFailures: { entryId: number; code: string }[];
  readonly readerLacs: number[];
  readonly readerMismatches: string[];
  readonly recovered: { who: string; lastAddConfirmed: number }[];
  readonly recoveryErrors: { who: string; code: string }[];
  writerClosedAt: number | undefined;
  ensembleChanges: number;
}

export function newHistory(payloadOf: (entryId: number) => Buffer): History {
  return {
    payloadOf,
    confirmed: [],
    appendFailures: [],
    readerLacs: [],
    readerMismatches: [],
    recovered: [],
    recoveryErrors: [],
    writerClosedAt: undefined,
    ensembleChanges: 0,
  };
}

export interface FinalState {
  readonly lastEntryId: number;
  readonly entries: readonly { entryId: number; payload: Uint8Array }[];
}

export function checkHistory(h: History, final: FinalState): string[] {
  const v: string[] = [];
  h.confirmed.forEach((id, i) => {
    if (id !== i) v.push(`confirmation #${i} was entry ${id} (out of order or gap)`);
  });
  const maxConfirmed = h.confirmed.length - 1;
  if (maxConfirmed > final.lastEntryId) {
    v.push(`LOST: entry ${maxConfirmed} was confirmed but the ledger closed at ${final.lastEntryId}`);
  }
  for (const lac of h.readerLacs) {
    if (lac > final.lastEntryId)
      v.push(`LOST: a reader saw LAC ${lac} but the ledger closed at ${final.lastEntryId}`);
  }
  if (final.entries.length !== final.lastEntryId + 1) {
    v.push(`read back ${final.entries.length} entries, expected ${final.lastEntryId + 1}`);
  }
  final.entries.forEach((e, i) => {
    if (e.entryId !== i) v.push(`read back entry ${e.entryId} at position ${i}`);
    else if (Buffer.compare(Buffer.from(e.payload), h.payloadOf(i)) !== 0)
      v.push(`entry ${i} has the wrong payload`);
  });
  for (const r of h.recovered) {
    if (r.lastAddConfirmed !== final.lastEntryId) {
      v.push(`${r.who} recovered to ${r.lastAddConfirmed}, final metadata says ${final.lastEntryId}`);
    }
  }
  if (h.writerClosedAt !== undefined && h.writerClosedAt !== final.lastEntryId) {
    v.push(`writer closed at ${h.writerClosedAt}, final metadata says ${final.lastEntryId}`);
  }
  v.push(...h.readerMismatches);
  return v;
}
