/**
 * Group commit policy (pure). While the journal is busy (a group being written, or as many
 * fdatasyncs running as the writer allows), new records gather into the next group. A waiting
 * group starts when the journal is not busy and either `flushWhenIdle` is on, `maxBytes` are
 * waiting, or its oldest record has waited `maxWaitMs` (BookKeeper's journalMaxGroupWaitMSec /
 * journalBufferedWritesThreshold).
 */
export interface GroupCommitSettings {
  readonly maxWaitMs: number;
  readonly maxBytes: number;
  readonly flushWhenIdle: boolean;
}

export interface GroupCommitState {
  readonly now: number;
  /** The journal is busy: a group is being written, or no fdatasync slot is free. */
  readonly inFlight: boolean;
  readonly pendingBytes: number;
  /** Whether anything waits (a commit request may wait with zero bytes). */
  readonly pending: boolean;
  /** When the oldest waiting record arrived. */
  readonly oldestAt: number;
}

export type GroupCommitDecision =
  | { readonly action: 'idle' }
  | { readonly action: 'flush' }
  | { readonly action: 'wait'; readonly ms: number };

export function decideGroupCommit(s: GroupCommitSettings, st: GroupCommitState): GroupCommitDecision {
  if (!st.pending || st.inFlight) return { action: 'idle' };
  if (s.flushWhenIdle || st.pendingBytes >= s.maxBytes) return { action: 'flush' };
  const waited = st.now - st.oldestAt;
  if (waited >= s.maxWaitMs) return { action: 'flush' };
  return { action: 'wait', ms: s.maxWaitMs - waited };
}
